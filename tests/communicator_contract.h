#pragma once
// The Communicator contract: one set of checks, run against LocalCommunicator (threads, in
// tests/unit/communicator_test.cc) and MpiCommunicator (real ranks, tests/mpi/mpi_test.cc).
// Each check is called on every rank of a world of any size.

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "engine/comm/communicator.h"

namespace hpcnas::contract {

inline constexpr Seconds kWait{20};

// Point to point: every rank sends three messages to every other rank; they arrive in order.
inline void SendReceiveInOrder(Communicator& comm) {
  for (int to = 0; to < comm.size(); ++to) {
    if (to == comm.rank()) continue;
    for (int k = 0; k < 3; ++k) {
      std::string text = std::to_string(comm.rank()) + "->" + std::to_string(to) + "#" + std::to_string(k);
      ASSERT_TRUE(comm.Send(to, 7, Bytes(text.begin(), text.end()), kWait).ok());
    }
  }
  for (int from = 0; from < comm.size(); ++from) {
    if (from == comm.rank()) continue;
    for (int k = 0; k < 3; ++k) {
      auto e = comm.Receive(from, 7, kWait);
      ASSERT_TRUE(e.ok()) << e.status().message();
      EXPECT_EQ(e->source, from);
      EXPECT_EQ(e->tag, 7);
      EXPECT_EQ(std::string(e->payload.begin(), e->payload.end()),
                std::to_string(from) + "->" + std::to_string(comm.rank()) + "#" + std::to_string(k));
    }
  }
  ASSERT_TRUE(comm.Barrier(kWait).ok());
}

// Any-source receive gets every message exactly once; tags keep streams apart; empty payloads.
inline void AnySourceAndTags(Communicator& comm) {
  if (comm.rank() != 0) {
    ASSERT_TRUE(comm.Send(0, 11, Bytes{}, kWait).ok());
    ASSERT_TRUE(comm.Send(0, 12, Bytes(5, static_cast<char>(comm.rank())), kWait).ok());
  } else {
    std::vector<int> seen(comm.size(), 0);
    for (int i = 1; i < comm.size(); ++i) {
      auto e = comm.Receive(Communicator::kAnySource, 12, kWait);
      ASSERT_TRUE(e.ok()) << e.status().message();
      EXPECT_EQ(e->payload, Bytes(5, static_cast<char>(e->source)));
      ++seen[e->source];
    }
    for (int i = 1; i < comm.size(); ++i) {
      auto e = comm.Receive(Communicator::kAnySource, 11, kWait);
      ASSERT_TRUE(e.ok());
      EXPECT_TRUE(e->payload.empty());
    }
    for (int r = 1; r < comm.size(); ++r) EXPECT_EQ(seen[r], 1);
    auto none = comm.TryReceive(Communicator::kAnySource, 11, kWait);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
  }
  ASSERT_TRUE(comm.Barrier(kWait).ok());
}

// A receive nobody answers ends with kTimeout after about its timeout, naming what it waited for.
inline void ReceiveTimesOut(Communicator& comm) {
  auto e = comm.Receive((comm.rank() + 1) % comm.size(), 99, Seconds(0.2));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().kind(), ErrorKind::kTimeout);
  EXPECT_NE(e.status().message().find("tag 99"), std::string::npos) << e.status().message();
  ASSERT_TRUE(comm.Barrier(kWait).ok());
}

// Broadcast of empty, small and multi-megabyte payloads from every root.
inline void BroadcastFromEveryRoot(Communicator& comm) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{3} << 20}) {
    for (int root = 0; root < comm.size(); ++root) {
      Bytes bytes;
      if (comm.rank() == root) {
        bytes.resize(size);
        for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 31 + root) & 0xff);
      }
      ASSERT_TRUE(comm.Broadcast(bytes, root, kWait).ok());
      ASSERT_EQ(bytes.size(), size);
      for (std::size_t i = 0; i < size; i += 4099) ASSERT_EQ(bytes[i], static_cast<char>((i * 31 + root) & 0xff));
    }
  }
}

// Sum in place; identical on every rank; float and double; zero-length.
inline void AllReduceSums(Communicator& comm) {
  std::vector<double> d(1000);
  std::vector<float> f(1000);
  for (int i = 0; i < 1000; ++i) {
    d[i] = comm.rank() * 1000.0 + i;
    f[i] = static_cast<float>(comm.rank() + 1) * 0.5f;
  }
  ASSERT_TRUE(AllReduceSum(comm, d, kWait).ok());
  ASSERT_TRUE(AllReduceSum(comm, f, kWait).ok());
  const int n = comm.size();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_DOUBLE_EQ(d[i], 1000.0 * n * (n - 1) / 2 + n * static_cast<double>(i));
    EXPECT_FLOAT_EQ(f[i], 0.5f * n * (n + 1) / 2);
  }
  std::vector<double> empty;
  EXPECT_TRUE(AllReduceSum(comm, empty, kWait).ok());
}

// All-gather of different sizes per rank (rank r sends r bytes of value r).
inline void AllGatherVariableSizes(Communicator& comm) {
  auto all = comm.AllGather(Bytes(comm.rank(), static_cast<char>(comm.rank())), kWait);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(static_cast<int>(all->size()), comm.size());
  for (int r = 0; r < comm.size(); ++r) EXPECT_EQ((*all)[r], Bytes(r, static_cast<char>(r)));
  std::vector<int> mine(comm.rank() + 1, comm.rank());
  auto concat = AllGatherConcat(comm, mine, kWait);
  ASSERT_TRUE(concat.ok());
  EXPECT_EQ(static_cast<int>(concat->size()), comm.size() * (comm.size() + 1) / 2);
  std::vector<int> broadcast = comm.rank() == 0 ? std::vector<int>{4, 5, 6} : std::vector<int>{};
  ASSERT_TRUE(BroadcastVector(comm, broadcast, 0, kWait).ok());
  EXPECT_EQ(broadcast, (std::vector<int>{4, 5, 6}));
}

// A failure on one rank reaches every rank, naming the rank that failed.
inline void AgreeOnStatusNamesTheFailingRank(Communicator& comm) {
  Status ok = AgreeOnStatus(comm, Status::Ok(), kWait);
  EXPECT_TRUE(ok.ok()) << ok.message();
  const int failing = comm.size() - 1;
  Status mine = comm.rank() == failing ? Status::InvalidInput("bad file") : Status::Ok();
  Status agreed = AgreeOnStatus(comm, mine, kWait);
  ASSERT_FALSE(agreed.ok());
  EXPECT_EQ(agreed.kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(agreed.message().find("bad file"), std::string::npos);
  if (comm.rank() != failing) {
    EXPECT_NE(agreed.message().find("rank " + std::to_string(failing)), std::string::npos) << agreed.message();
  }
}

inline const std::vector<std::pair<const char*, void (*)(Communicator&)>>& AllChecks() {
  static const std::vector<std::pair<const char*, void (*)(Communicator&)>> checks = {
      {"SendReceiveInOrder", SendReceiveInOrder},
      {"AnySourceAndTags", AnySourceAndTags},
      {"ReceiveTimesOut", ReceiveTimesOut},
      {"BroadcastFromEveryRoot", BroadcastFromEveryRoot},
      {"AllReduceSums", AllReduceSums},
      {"AllGatherVariableSizes", AllGatherVariableSizes},
      {"AgreeOnStatusNamesTheFailingRank", AgreeOnStatusNamesTheFailingRank},
  };
  return checks;
}

}  // namespace hpcnas::contract
