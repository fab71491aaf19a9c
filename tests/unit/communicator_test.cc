// The Communicator contract on LocalCommunicator (ranks as threads), world sizes 1..5, plus
// the in-process behaviour of Abort.
#include <gtest/gtest.h>

#include "engine/comm/local_communicator.h"
#include "tests/communicator_contract.h"

namespace hpcnas {
namespace {

class LocalContract : public ::testing::TestWithParam<int> {};

TEST_P(LocalContract, AllChecksPass) {
  for (const auto& [name, check] : contract::AllChecks()) {
    SCOPED_TRACE(name);
    const auto errors = RunLocalRanks(GetParam(), [&](Communicator& comm) { check(comm); });
    for (int r = 0; r < GetParam(); ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, LocalContract, ::testing::Values(1, 2, 3, 4, 5));

TEST(LocalCommunicator, AbortReachesWaitingRanks) {
  const auto errors = RunLocalRanks(3, [](Communicator& comm) {
    if (comm.rank() == 2) comm.Abort("disk on fire", 3);
    auto e = comm.Receive(Communicator::kAnySource, 1, Seconds(30));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("rank 2: disk on fire"), std::string::npos) << e.status().message();
  });
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(errors[2], "rank 2: disk on fire");
}

TEST(LocalCommunicator, CollectiveTimeoutNamesTheMissingRank) {
  const auto errors = RunLocalRanks(3, [](Communicator& comm) {
    if (comm.rank() == 1) return;  // never joins
    Status s = comm.Barrier(Seconds(0.3));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.kind(), ErrorKind::kTimeout);
    EXPECT_NE(s.message().find("waiting for rank(s) 1"), std::string::npos) << s.message();
  });
  for (const auto& e : errors) EXPECT_EQ(e, "");
}

}  // namespace
}  // namespace hpcnas
