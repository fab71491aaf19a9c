// Tests that need real MPI ranks: run by ctest under mpirun -np 2 and -np 3. Every rank runs
// every test; a failure on any rank fails the run (the results are reduced over ranks).
#include <gtest/gtest.h>

#include "engine/mpi_communicator.h"
#include "tests/communicator_contract.h"

namespace hpcnas {
namespace {

MpiCommunicator* g_comm = nullptr;  // tests only: set once in main()

TEST(MpiContract, SendReceiveInOrder) { contract::SendReceiveInOrder(*g_comm); }
TEST(MpiContract, AnySourceAndTags) { contract::AnySourceAndTags(*g_comm); }
TEST(MpiContract, ReceiveTimesOut) { contract::ReceiveTimesOut(*g_comm); }
TEST(MpiContract, BroadcastFromEveryRoot) { contract::BroadcastFromEveryRoot(*g_comm); }
TEST(MpiContract, AllReduceSums) { contract::AllReduceSums(*g_comm); }
TEST(MpiContract, AllGatherVariableSizes) { contract::AllGatherVariableSizes(*g_comm); }
TEST(MpiContract, AgreeOnStatusNamesTheFailingRank) { contract::AgreeOnStatusNamesTheFailingRank(*g_comm); }

TEST(MpiContract, CoversEveryContractCheck) { EXPECT_EQ(contract::AllChecks().size(), 7u); }

}  // namespace
}  // namespace hpcnas

int main(int argc, char** argv) {
  hpcnas::MpiCommunicator comm(&argc, &argv);
  hpcnas::g_comm = &comm;
  ::testing::InitGoogleTest(&argc, argv);
  if (comm.rank() != 0) ::testing::GTEST_FLAG(brief) = true;  // other ranks print failures only
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  double any_failed = failed;
  if (!comm.AllReduceSum(&any_failed, 1, hpcnas::Seconds(60)).ok()) return 1;
  if (comm.rank() == 0 && any_failed > 0 && !failed) std::fprintf(stderr, "a test failed on another rank\n");
  return any_failed > 0 ? 1 : 0;
}
