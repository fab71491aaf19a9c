#pragma once
// Watches the other ranks of the job that run on this host, by process id, so that a rank
// that dies or freezes is named by hpcnas itself and none is left behind:
//  - a peer that dies (killed, crashed) is reported at once on standard error, naming its rank,
//    pid and host, before the launcher tears the job down (mpirun's message names only a PID);
//  - when the job aborts, peers frozen by SIGSTOP (which cannot run their own exit, and would
//    outlive a launcher that only sends SIGTERM) are killed.
// Ranks on other hosts cannot be seen this way; the communicator's bounded waits name them.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace hpcnas {

struct PeerProcess {
  int rank = -1;
  long pid = 0;
};

class PeerWatch {
 public:
  // Starts watching `peers` (same host, not this process) unless the list is empty.
  PeerWatch(int my_rank, std::string host, std::vector<PeerProcess> peers);
  ~PeerWatch();
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

  // Kills (SIGKILL) every watched peer that is stopped, saying so on standard error.
  void KillStoppedPeers() const;

 private:
  void Watch();

  int my_rank_;
  std::string host_;
  std::vector<PeerProcess> peers_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The state letter of process `pid` from /proc (R, S, D, T, t, Z, ...), or 'X' when it is gone.
char ProcessState(long pid);

}  // namespace hpcnas
