#include "engine/comm/peer_watch.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace hpcnas {

char ProcessState(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 'X';
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 'X' : line[close + 2];
}

PeerWatch::PeerWatch(int my_rank, std::string host, std::vector<PeerProcess> peers)
    : my_rank_(my_rank), host_(std::move(host)) {
  // A peer this process cannot see in /proc (another pid namespace, hidepid) is not watched:
  // its absence would read as a death.
  for (const PeerProcess& peer : peers) {
    if (ProcessState(peer.pid) != 'X') peers_.push_back(peer);
  }
  if (!peers_.empty()) thread_ = std::thread([this] { Watch(); });
}

PeerWatch::~PeerWatch() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PeerWatch::Watch() {
  std::vector<bool> reported(peers_.size(), false);
  // 50 ms: well inside the time a launcher takes to notice a death and kill the other ranks.
  while (!stop_) {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      if (reported[i]) continue;
      const char state = ProcessState(peers_[i].pid);
      if (state != 'X' && state != 'Z') continue;
      reported[i] = true;
      std::fprintf(stderr, "hpcnas: rank %d: rank %d (pid %ld on %s) has died; the job cannot go on\n", my_rank_,
                   peers_[i].rank, peers_[i].pid, host_.c_str());
      std::fflush(stderr);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PeerWatch::KillStoppedPeers() const {
  for (const PeerProcess& peer : peers_) {
    const char state = ProcessState(peer.pid);
    if (state != 'T' && state != 't') continue;
    std::fprintf(stderr, "hpcnas: rank %d: rank %d (pid %ld on %s) is stopped (SIGSTOP); killing it so that it does not outlive the job\n",
                 my_rank_, peer.rank, peer.pid, host_.c_str());
    std::fflush(stderr);
    ::kill(static_cast<pid_t>(peer.pid), SIGKILL);
  }
}

}  // namespace hpcnas
