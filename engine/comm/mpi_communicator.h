#pragma once
// The MPI implementation of Communicator. Its .cc is the only file that includes <mpi.h>.
// Every wait polls a non-blocking request against a deadline (sleeping between polls, so a
// waiting rank leaves its core to the ranks that compute); messages and collectives larger
// than INT_MAX bytes are split (a message into parts of max_chunk_bytes(), 1 GiB). Every MPI
// call's return code is checked: errors return, never abort inside MPI.

#include <cstddef>
#include <memory>

#include "engine/comm/communicator.h"
#include "engine/comm/peer_watch.h"

namespace hpcnas {

class MpiCommunicator final : public Communicator {
 public:
  // Initialises MPI (thread level FUNNELED: only the main thread calls MPI) unless it already
  // is, and finalises it on destruction if it initialised it.
  MpiCommunicator(int* argc, char*** argv);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Status Send(int destination, int tag, const Bytes& payload, Seconds timeout) override;
  StatusOr<Envelope> Receive(int source, int tag, Seconds timeout) override;
  StatusOr<std::optional<Envelope>> TryReceive(int source, int tag, Seconds timeout) override;
  Status Barrier(Seconds timeout) override;
  Status Broadcast(Bytes& bytes, int root, Seconds timeout) override;
  Status AllReduceSum(double* data, std::size_t count, Seconds timeout) override;
  Status AllReduceSum(float* data, std::size_t count, Seconds timeout) override;
  StatusOr<std::vector<Bytes>> AllGather(const Bytes& mine, Seconds timeout) override;
  [[noreturn]] void Abort(const std::string& reason, int exit_code) override;

  // The largest part of a message or broadcast; tests lower it to send small messages in parts.
  std::size_t max_chunk_bytes() const { return max_chunk_bytes_; }
  void set_max_chunk_bytes(std::size_t bytes) { max_chunk_bytes_ = bytes; }

 private:
  void WatchPeersOnThisHost();

  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
  std::size_t max_chunk_bytes_ = std::size_t{1} << 30;
  std::unique_ptr<PeerWatch> peer_watch_;  // the ranks on this host
};

}  // namespace hpcnas
