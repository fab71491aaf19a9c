#pragma once
// Ranks as threads in one process: the whole distributed protocol runs in a unit test, with a
// deadline on every wait so a hang fails the test instead of stalling it. Collectives reduce in
// rank order, so results are deterministic.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "engine/comm/communicator.h"

namespace hpcnas {

// Thrown by LocalCommunicator::Abort in the aborting thread; the other ranks see a failed
// Status from their next wait.
class LocalAbortError : public std::runtime_error {
 public:
  LocalAbortError(int rank, const std::string& reason, int exit_code)
      : std::runtime_error("rank " + std::to_string(rank) + ": " + reason), exit_code(exit_code) {}
  int exit_code;
};

// The state the ranks of one in-process job share.
class LocalWorld {
 public:
  explicit LocalWorld(int size);
  int size() const { return size_; }

 private:
  friend class LocalCommunicator;
  struct Mailbox {
    std::deque<Envelope> messages;
  };
  struct Round {
    std::vector<Bytes> parts;
    std::vector<bool> arrived;
    int num_arrived = 0;
    int num_departed = 0;
  };

  int size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Mailbox> mailboxes_;
  std::vector<int64_t> collectives_started_;  // per rank
  std::map<int64_t, Round> rounds_;
  bool aborted_ = false;
  std::string abort_reason_;
};

class LocalCommunicator final : public Communicator {
 public:
  LocalCommunicator(std::shared_ptr<LocalWorld> world, int rank) : world_(std::move(world)), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return world_->size(); }
  Status Send(int destination, int tag, const Bytes& payload, Seconds timeout) override;
  StatusOr<Envelope> Receive(int source, int tag, Seconds timeout) override;
  StatusOr<std::optional<Envelope>> TryReceive(int source, int tag, Seconds timeout) override;
  Status Barrier(Seconds timeout) override;
  Status Broadcast(Bytes& bytes, int root, Seconds timeout) override;
  Status AllReduceSum(double* data, std::size_t count, Seconds timeout) override;
  Status AllReduceSum(float* data, std::size_t count, Seconds timeout) override;
  StatusOr<std::vector<Bytes>> AllGather(const Bytes& mine, Seconds timeout) override;
  [[noreturn]] void Abort(const std::string& reason, int exit_code) override;

 private:
  template <typename T>
  Status AllReduceSumImpl(T* data, std::size_t count, Seconds timeout);
  std::optional<Envelope> TakeMatching(int source, int tag);  // caller holds the mutex

  std::shared_ptr<LocalWorld> world_;
  int rank_;
};

// Runs body(comm) on `size` threads, one rank each, and waits for all of them. Returns the
// exception message of every rank that threw (empty if none did), indexed by rank.
std::vector<std::string> RunLocalRanks(int size, const std::function<void(Communicator&)>& body);

}  // namespace hpcnas
