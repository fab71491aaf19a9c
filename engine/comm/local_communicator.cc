#include "engine/comm/local_communicator.h"

#include <cstring>
#include <thread>

namespace hpcnas {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point DeadlineAfter(Seconds timeout) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
}

std::string FormatSeconds(Seconds s) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g s", s.count());
  return buffer;
}

}  // namespace

LocalWorld::LocalWorld(int size) : size_(size), mailboxes_(size), collectives_started_(size, 0) {
  if (size < 1) throw std::invalid_argument("LocalWorld needs at least one rank");
}

Status LocalCommunicator::Send(int destination, int tag, const Bytes& payload, Seconds /*timeout*/) {
  if (destination < 0 || destination >= size()) {
    return Status::Internal("send to rank " + std::to_string(destination) + " of " + std::to_string(size()));
  }
  {
    std::lock_guard<std::mutex> lock(world_->mutex_);
    if (world_->aborted_) return Status::Communication("job aborted: " + world_->abort_reason_);
    world_->mailboxes_[destination].messages.push_back(Envelope{rank_, tag, payload});
  }
  world_->changed_.notify_all();
  return Status::Ok();
}

std::optional<Envelope> LocalCommunicator::TakeMatching(int source, int tag) {
  auto& messages = world_->mailboxes_[rank_].messages;
  for (auto it = messages.begin(); it != messages.end(); ++it) {
    if (it->tag == tag && (source == kAnySource || it->source == source)) {
      Envelope found = std::move(*it);
      messages.erase(it);
      return found;
    }
  }
  return std::nullopt;
}

StatusOr<Envelope> LocalCommunicator::Receive(int source, int tag, Seconds timeout) {
  std::unique_lock<std::mutex> lock(world_->mutex_);
  std::optional<Envelope> found;
  const bool ready = world_->changed_.wait_until(lock, DeadlineAfter(timeout), [&] {
    if (world_->aborted_) return true;
    found = TakeMatching(source, tag);
    return found.has_value();
  });
  if (found) return std::move(*found);
  if (world_->aborted_) return Status::Communication("job aborted: " + world_->abort_reason_);
  (void)ready;
  const std::string from = source == kAnySource ? "any rank" : "rank " + std::to_string(source);
  return Status::Timeout("no message (tag " + std::to_string(tag) + ") from " + from + " within " +
                         FormatSeconds(timeout));
}

StatusOr<std::optional<Envelope>> LocalCommunicator::TryReceive(int source, int tag, Seconds /*timeout: messages arrive whole*/) {
  std::lock_guard<std::mutex> lock(world_->mutex_);
  if (world_->aborted_) return Status::Communication("job aborted: " + world_->abort_reason_);
  return TakeMatching(source, tag);
}

StatusOr<std::vector<Bytes>> LocalCommunicator::AllGather(const Bytes& mine, Seconds timeout) {
  std::unique_lock<std::mutex> lock(world_->mutex_);
  if (world_->aborted_) return Status::Communication("job aborted: " + world_->abort_reason_);
  const int64_t id = world_->collectives_started_[rank_]++;
  LocalWorld::Round& round = world_->rounds_[id];
  if (round.parts.empty()) {
    round.parts.resize(size());
    round.arrived.assign(size(), false);
  }
  round.parts[rank_] = mine;
  round.arrived[rank_] = true;
  ++round.num_arrived;
  world_->changed_.notify_all();
  world_->changed_.wait_until(lock, DeadlineAfter(timeout),
                              [&] { return world_->aborted_ || round.num_arrived == size(); });
  if (world_->aborted_) return Status::Communication("job aborted: " + world_->abort_reason_);
  if (round.num_arrived < size()) {
    std::string missing;
    for (int r = 0; r < size(); ++r) {
      if (!round.arrived[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    }
    return Status::Timeout("collective #" + std::to_string(id) + " timed out after " + FormatSeconds(timeout) +
                           " waiting for rank(s) " + missing);
  }
  std::vector<Bytes> all = round.parts;
  if (++round.num_departed == size()) world_->rounds_.erase(id);
  return all;
}

Status LocalCommunicator::Barrier(Seconds timeout) { return AllGather({}, timeout).status(); }

Status LocalCommunicator::Broadcast(Bytes& bytes, int root, Seconds timeout) {
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Bytes> all, AllGather(rank_ == root ? bytes : Bytes{}, timeout));
  bytes = std::move(all[root]);
  return Status::Ok();
}

template <typename T>
Status LocalCommunicator::AllReduceSumImpl(T* data, std::size_t count, Seconds timeout) {
  Bytes mine(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data + count));
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Bytes> all, AllGather(mine, timeout));
  std::vector<T> sum(count, T(0));
  for (const Bytes& part : all) {
    if (part.size() != count * sizeof(T)) {
      return Status::Internal("AllReduceSum called with different lengths on different ranks");
    }
    const T* values = reinterpret_cast<const T*>(part.data());
    for (std::size_t i = 0; i < count; ++i) sum[i] += values[i];
  }
  std::memcpy(data, sum.data(), count * sizeof(T));
  return Status::Ok();
}

Status LocalCommunicator::AllReduceSum(double* data, std::size_t count, Seconds timeout) {
  return AllReduceSumImpl(data, count, timeout);
}

Status LocalCommunicator::AllReduceSum(float* data, std::size_t count, Seconds timeout) {
  return AllReduceSumImpl(data, count, timeout);
}

void LocalCommunicator::Abort(const std::string& reason, int exit_code) {
  {
    std::lock_guard<std::mutex> lock(world_->mutex_);
    if (!world_->aborted_) {
      world_->aborted_ = true;
      world_->abort_reason_ = "rank " + std::to_string(rank_) + ": " + reason;
    }
  }
  world_->changed_.notify_all();
  throw LocalAbortError(rank_, reason, exit_code);
}

std::vector<std::string> RunLocalRanks(int size, const std::function<void(Communicator&)>& body) {
  auto world = std::make_shared<LocalWorld>(size);
  std::vector<std::string> errors(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      LocalCommunicator comm(world, r);
      try {
        body(comm);
      } catch (const std::exception& e) {
        errors[r] = e.what();
        if (errors[r].empty()) errors[r] = "exception";
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace hpcnas
