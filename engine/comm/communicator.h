#pragma once
// The one interface through which ranks talk. Transport only: bytes between ranks and a few
// collectives; typed helpers below are thin templates over it. Two implementations:
// MpiCommunicator (engine/comm/mpi_communicator.h, the only file that includes <mpi.h>) and
// LocalCommunicator (engine/comm/local_communicator.h, ranks as threads, for tests).
//
// Every wait has a deadline: a peer that stops answering turns into a kTimeout Status that
// names it, never a hang. The caller then decides; a fatal error ends the job with Abort().

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

using Bytes = std::vector<char>;
using Seconds = std::chrono::duration<double>;

struct Envelope {
  int source = -1;
  int tag = -1;
  Bytes payload;
};

class Communicator {
 public:
  static constexpr int kAnySource = -1;

  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Point to point. Messages from one source with one tag arrive in the order sent.
  // Completes when the payload has left this rank (or fails after `timeout`).
  virtual Status Send(int destination, int tag, const Bytes& payload, Seconds timeout) = 0;
  // The next message with `tag` from `source` (or kAnySource); kTimeout after `timeout`.
  virtual StatusOr<Envelope> Receive(int source, int tag, Seconds timeout) = 0;
  // A message if one has begun to arrive, without waiting for one; a large message whose first
  // part is here is received whole within `timeout` (or kTimeout: its sender died midway).
  virtual StatusOr<std::optional<Envelope>> TryReceive(int source, int tag, Seconds timeout) = 0;

  // Collectives: every rank calls them in the same order.
  virtual Status Barrier(Seconds timeout) = 0;
  // `bytes` is read on `root` and replaced with root's bytes elsewhere (any size).
  virtual Status Broadcast(Bytes& bytes, int root, Seconds timeout) = 0;
  // Element-wise sum over ranks, in place; the same result on every rank.
  virtual Status AllReduceSum(double* data, std::size_t count, Seconds timeout) = 0;
  virtual Status AllReduceSum(float* data, std::size_t count, Seconds timeout) = 0;
  // Every rank's bytes, indexed by rank, on every rank.
  virtual StatusOr<std::vector<Bytes>> AllGather(const Bytes& mine, Seconds timeout) = 0;

  // Ends the whole job: prints "rank R: <reason>" and never returns (the in-process
  // implementation throws instead, so a test can observe it).
  [[noreturn]] virtual void Abort(const std::string& reason, int exit_code) = 0;
};

// ---- Typed helpers over the byte interface -------------------------------------------------

template <typename T>
Bytes ToBytes(const std::vector<T>& values) {
  static_assert(std::is_trivially_copyable_v<T>, "ToBytes needs a trivially copyable type");
  const char* begin = reinterpret_cast<const char*>(values.data());
  return Bytes(begin, begin + values.size() * sizeof(T));
}

template <typename T>
StatusOr<std::vector<T>> FromBytes(const Bytes& bytes) {
  static_assert(std::is_trivially_copyable_v<T>, "FromBytes needs a trivially copyable type");
  if (bytes.size() % sizeof(T) != 0) {
    return Status::Communication("received " + std::to_string(bytes.size()) + " bytes, not a whole number of " +
                                 std::to_string(sizeof(T)) + "-byte values");
  }
  std::vector<T> values(bytes.size() / sizeof(T));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(values.data()));
  return values;
}

// Broadcasts a vector of plain values from root to all ranks.
template <typename T>
Status BroadcastVector(Communicator& comm, std::vector<T>& values, int root, Seconds timeout) {
  Bytes bytes = comm.rank() == root ? ToBytes(values) : Bytes{};
  HPCNAS_RETURN_IF_ERROR(comm.Broadcast(bytes, root, timeout));
  HPCNAS_ASSIGN_OR_RETURN(values, FromBytes<T>(bytes));
  return Status::Ok();
}

// Every rank's vector concatenated in rank order, on every rank.
template <typename T>
StatusOr<std::vector<T>> AllGatherConcat(Communicator& comm, const std::vector<T>& mine, Seconds timeout) {
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Bytes> parts, comm.AllGather(ToBytes(mine), timeout));
  std::vector<T> all;
  for (const Bytes& part : parts) {
    HPCNAS_ASSIGN_OR_RETURN(std::vector<T> values, FromBytes<T>(part));
    all.insert(all.end(), values.begin(), values.end());
  }
  return all;
}

template <typename T>
Status AllReduceSum(Communicator& comm, std::vector<T>& values, Seconds timeout) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "AllReduceSum takes float or double");
  return comm.AllReduceSum(values.data(), values.size(), timeout);
}

// Agrees on a Status across ranks: if any rank failed, every rank returns the failure of the
// lowest failing rank (with its rank named). Used before a collective step that must not
// start when a peer already knows it cannot take part.
Status AgreeOnStatus(Communicator& comm, const Status& mine, Seconds timeout);

}  // namespace hpcnas
