#pragma once
// The MPI implementation of Communicator. Its .cc is the only file that includes <mpi.h>.
// Every wait polls a non-blocking request against a deadline (sleeping between polls, so a
// waiting rank leaves its core to the ranks that compute); messages and collectives larger
// than INT_MAX bytes are split.

#include <memory>

#include "engine/communicator.h"

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
  StatusOr<std::optional<Envelope>> TryReceive(int source, int tag) override;
  Status Barrier(Seconds timeout) override;
  Status Broadcast(Bytes& bytes, int root, Seconds timeout) override;
  Status AllReduceSum(double* data, std::size_t count, Seconds timeout) override;
  Status AllReduceSum(float* data, std::size_t count, Seconds timeout) override;
  StatusOr<std::vector<Bytes>> AllGather(const Bytes& mine, Seconds timeout) override;
  [[noreturn]] void Abort(const std::string& reason, int exit_code) override;

 private:
  StatusOr<Envelope> ReceiveProbed(int source, int tag);
  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace hpcnas
