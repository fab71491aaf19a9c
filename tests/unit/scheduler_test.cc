// The scheduler's pure logic and the whole scoring protocol in-process (ranks as threads):
// world sizes 1..6, empty and tiny jobs, more ranks than items, and failing workers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "engine/comm/local_communicator.h"
#include "scheduler/chunk_queue.h"
#include "scheduler/score_coordinator.h"
#include "workers/score_worker.h"

namespace hpcnas {
namespace {

TEST(ChunkQueue, CoversEveryPositionOnceInOrder) {
  for (int ranks = 1; ranks <= 8; ++ranks) {
    for (int64_t total : {0, 1, 2, 7, 100, 15625}) {
      ChunkQueue queue(total, ranks, 1, 64);
      int64_t next = 0;
      int64_t previous_size = INT64_MAX;
      while (auto chunk = queue.Next()) {
        EXPECT_EQ(chunk->begin, next);
        EXPECT_GT(chunk->size(), 0);
        EXPECT_LE(chunk->size(), 64);
        EXPECT_LE(chunk->size(), previous_size);  // guided: never grows
        previous_size = chunk->size();
        next = chunk->end;
      }
      EXPECT_EQ(next, total) << ranks << " ranks, " << total << " items";
      EXPECT_EQ(queue.remaining(), 0);
    }
  }
}

TEST(ChunkQueue, GuidedSizesShrinkTowardTheEnd) {
  ChunkQueue queue(1000, 2, 1, 1000);
  EXPECT_EQ(queue.Next()->size(), 250);  // ceil(1000 / 4)
  EXPECT_EQ(queue.Next()->size(), 188);  // ceil(750 / 4)
  ChunkQueue bounded(1000, 2, 5, 10);
  EXPECT_EQ(bounded.Next()->size(), 10);
}

TEST(SilenceWatch, OnlyRanksHoldingWorkCanBeSilent) {
  SilenceWatch watch(3);
  watch.Heard(1, 0.0);
  watch.Heard(2, 0.0);
  watch.Assigned(1);
  EXPECT_TRUE(watch.SilentRanks(5.0, 10.0).empty());
  EXPECT_EQ(watch.SilentRanks(11.0, 10.0), std::vector<int>{1});
  watch.Returned(1);
  EXPECT_TRUE(watch.SilentRanks(100.0, 10.0).empty());
}

double FakeScore(int64_t position) { return position % 7 == 3 ? std::nan("") : std::sqrt(position + 1.0); }

void RunProtocol(int ranks, int64_t total) {
  std::vector<std::atomic<int>> times_scored(total);
  ScoreOutcome outcome;
  const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
    ScoreAtPosition score = [&](int64_t p) {
      ++times_scored[p];
      return std::vector<double>{FakeScore(p), -static_cast<double>(p)};
    };
    ScoreProtocolOptions options;
    options.values_per_item = 2;
    options.timeout = Seconds(20);
    options.max_chunk = 4;
    if (comm.rank() == 0) {
      auto result = RunScoreCoordinator(comm, total, score, options);
      ASSERT_TRUE(result.ok()) << result.status().message();
      outcome = *result;
    } else {
      Status s = RunScoreWorker(comm, score, options);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  });
  for (int r = 0; r < ranks; ++r) ASSERT_EQ(errors[r], "") << "rank " << r;
  ASSERT_EQ(static_cast<int64_t>(outcome.values.size()), 2 * total);
  for (int64_t p = 0; p < total; ++p) {
    EXPECT_EQ(times_scored[p], 1) << "position " << p;
    const double expected = FakeScore(p);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(outcome.value(p, 0, 2)));
    } else {
      EXPECT_EQ(outcome.value(p, 0, 2), expected);
    }
    EXPECT_EQ(outcome.value(p, 1, 2), -static_cast<double>(p));
  }
}

class ScoreProtocol : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(ScoreProtocol, EveryArchitectureIsScoredExactlyOnceAndStoredByPosition) {
  RunProtocol(std::get<0>(GetParam()), std::get<1>(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(WorldSizesAndJobSizes, ScoreProtocol,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 6), ::testing::Values(0, 1, 3, 57)));

TEST(ScoreProtocolFaults, AWorkerThatDiesIsNamedWithinTheTimeout) {
  Status coordinator_status;
  double detection_seconds = 0;
  const auto errors = RunLocalRanks(3, [&](Communicator& comm) {
    ScoreProtocolOptions options;
    options.timeout = Seconds(0.5);
    options.max_chunk = 2;
    if (comm.rank() == 0) {
      // Ranks 0 and 1 score slowly and the job is long (about 1.3 s of their work), so rank 2 is
      // sure to ask for work, and hold it, even when its thread starts late on a loaded machine.
      const auto start = std::chrono::steady_clock::now();
      auto result = RunScoreCoordinator(comm, 200, [](int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return std::vector<double>{1.0};
      }, options);
      coordinator_status = result.status();
      detection_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } else if (comm.rank() == 1) {
      (void)RunScoreWorker(comm, [](int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return std::vector<double>{1.0};
      }, options);
    } else {
      // Rank 2 takes work and never reports: as if its process hung.
      (void)RunScoreWorker(comm, [](int64_t) -> std::vector<double> {
        std::this_thread::sleep_for(std::chrono::seconds(3));
        return std::vector<double>{1.0};
      }, options);
    }
  });
  (void)errors;
  ASSERT_FALSE(coordinator_status.ok());
  EXPECT_EQ(coordinator_status.kind(), ErrorKind::kTimeout);
  EXPECT_NE(coordinator_status.message().find("rank(s) 2 held work"), std::string::npos) << coordinator_status.message();
  EXPECT_LT(detection_seconds, 5.0);  // timeout 0.5 s plus rank 0's own work
}

TEST(ScoreProtocolFaults, AWorkerWhoseCoordinatorIsGoneNamesRankZero) {
  Status worker_status;
  RunLocalRanks(2, [&](Communicator& comm) {
    ScoreProtocolOptions options;
    options.timeout = Seconds(0.3);
    if (comm.rank() == 1) worker_status = RunScoreWorker(comm, [](int64_t) { return std::vector<double>{1.0}; }, options);
  });
  ASSERT_FALSE(worker_status.ok());
  EXPECT_EQ(worker_status.kind(), ErrorKind::kTimeout);
  EXPECT_NE(worker_status.message().find("waiting for work from rank 0"), std::string::npos) << worker_status.message();
}

}  // namespace
}  // namespace hpcnas
