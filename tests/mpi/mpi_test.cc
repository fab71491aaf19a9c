// Tests that need real MPI ranks: run by ctest under mpirun -np 2 and -np 3. Every rank runs
// every test; a failure on any rank fails the run (the results are reduced over ranks).
#include <gtest/gtest.h>
#include <mpi.h>  // one test plays a sender that stops midway, below the Communicator
#include <torch/torch.h>

#include <chrono>
#include <cstring>

#include "engine/comm/local_communicator.h"
#include "engine/comm/mpi_communicator.h"
#include "engine/core/rng.h"
#include "io/images/image_source.h"
#include "io/images/loader.h"
#include "io/nb201_data.h"
#include "tests/communicator_contract.h"
#include "workers/predictor_worker.h"

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

// Messages and broadcasts larger than the part limit (1 GiB in production, 1000 bytes here)
// travel in parts and arrive whole.
TEST(MpiCommunicator, MessagesTravelInPartsThroughALoweredLimit) {
  MpiCommunicator& comm = *g_comm;
  const std::size_t limit = comm.max_chunk_bytes();
  comm.set_max_chunk_bytes(1000);
  Bytes payload(10007);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7 % 251);
  if (comm.rank() == 1) {
    ASSERT_TRUE(comm.Send(0, 77, payload, Seconds(60)).ok());
  }
  if (comm.rank() == 0) {
    auto received = comm.Receive(1, 77, Seconds(60));
    ASSERT_TRUE(received.ok()) << received.status().message();
    EXPECT_EQ(received->payload, payload);
  }
  Bytes broadcast = comm.rank() == 0 ? Bytes(payload.begin(), payload.begin() + 5555) : Bytes{};
  ASSERT_TRUE(comm.Broadcast(broadcast, 0, Seconds(60)).ok());
  EXPECT_EQ(broadcast, Bytes(payload.begin(), payload.begin() + 5555));
  comm.set_max_chunk_bytes(limit);
  ASSERT_TRUE(comm.Barrier(Seconds(60)).ok());
}

// Rank 1 sends the first part of a 100,000-byte message and nothing more (a sender that died
// midway): rank 0's receive ends with a timeout naming the missing rest, instead of a hang.
TEST(MpiCommunicator, ASenderThatStopsMidMessageIsATimeoutNotAHang) {
  MpiCommunicator& comm = *g_comm;
  if (comm.rank() == 1) {
    const std::uint64_t total = 100000;
    Bytes head(sizeof(total) + 16, 0);
    std::memcpy(head.data(), &total, sizeof(total));
    ASSERT_EQ(MPI_Send(head.data(), static_cast<int>(head.size()), MPI_BYTE, 0, 78, MPI_COMM_WORLD), MPI_SUCCESS);
  }
  if (comm.rank() == 0) {
    const auto start = std::chrono::steady_clock::now();
    auto received = comm.Receive(1, 78, Seconds(2));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_FALSE(received.ok());
    EXPECT_EQ(received.status().kind(), ErrorKind::kTimeout);
    EXPECT_NE(received.status().message().find("the rest of a 100000-byte message"), std::string::npos)
        << received.status().message();
    EXPECT_LT(waited, 30.0);
  }
  ASSERT_TRUE(comm.Barrier(Seconds(60)).ok());
}

// The TNASP predictor trained data-parallel over the real ranks: every replica ends with the
// same parameters, and they are bitwise those of a 1-rank run (in-process, on each rank) with
// the same global batch; sharded prediction is bitwise local prediction.
class MpiPredictor : public ::testing::TestWithParam<int> {};

TEST_P(MpiPredictor, ReplicasAgreeAndMatchOneRank) {
  torch::set_num_threads(1);
  tnasp::ModelOptions model;
  model.d_model = 24;
  model.heads = 3;
  model.layers = 2;
  model.feedforward = 48;
  model.head_hidden = 16;
  PredictorConfig config;
  config.epochs = 3;
  config.batch_size = 10;
  config.learning_rate = 1e-3;
  config.self_evolution_rounds = GetParam();

  const Nb201Truth truth = *LoadNb201Truth("embedded", "cifar10_test");
  CounterRng rng(21, {1});
  TrainingData data;
  for (std::int64_t code : SampleWithoutReplacement(rng, nb201::kNumCells, 90)) {
    const auto g = nb201::Genotype::FromCode(static_cast<int>(code));
    const tnasp::Encoding e = tnasp::Encode(g, model.position, model.eigen_count);
    if (data.labelled.size() < 43) {
      data.labelled.push_back(e);
      data.accuracy.push_back(truth.accuracy_by_code[code]);
    } else {
      data.unlabelled.push_back(e);
    }
  }

  Predictor distributed(model, 5);
  ASSERT_TRUE(TrainPredictor(*g_comm, distributed, data, config, 5, Seconds(120), nullptr).ok());
  const std::vector<float> mine = FlatParameters(distributed);
  StatusOr<std::vector<float>> all = AllGatherConcat(*g_comm, mine, Seconds(60));
  ASSERT_TRUE(all.ok());
  for (int r = 0; r < g_comm->size(); ++r) {
    EXPECT_TRUE(std::equal(mine.begin(), mine.end(), all->begin() + r * mine.size())) << "replica " << r << " differs";
  }

  Predictor alone(model, 5);
  RunLocalRanks(1, [&](Communicator& one) {
    ASSERT_TRUE(TrainPredictor(one, alone, data, config, 5, Seconds(120), nullptr).ok());
  });
  const std::vector<float> reference = FlatParameters(alone);
  float largest = 0, moved = 0;
  const std::vector<float> initial = FlatParameters(*std::make_unique<Predictor>(model, 5));
  for (std::size_t i = 0; i < mine.size(); ++i) {
    largest = std::max(largest, std::abs(mine[i] - reference[i]));
    moved = std::max(moved, std::abs(mine[i] - initial[i]));
  }
  EXPECT_EQ(largest, 0.0f) << g_comm->size() << " ranks vs 1";
  EXPECT_GT(moved, 1e-3) << "training moved the weights";

  StatusOr<std::vector<double>> sharded = PredictSharded(*g_comm, distributed, data.unlabelled, Seconds(60));
  ASSERT_TRUE(sharded.ok());
  const std::vector<double> local = Predict(distributed, data.unlabelled);
  ASSERT_EQ(sharded->size(), local.size());
  EXPECT_EQ(*sharded, local);
}
INSTANTIATE_TEST_SUITE_P(WithAndWithoutSelfEvolution, MpiPredictor, ::testing::Values(0, 3));

// Real ranks each load their share of every global batch of JPEGs; together they hold exactly
// the images, labels and pixels that one process loads alone, batch by batch.
TEST(MpiImageLoader, RanksTogetherLoadTheOneRankBatches) {
  auto source = OpenImageSource(std::string("imagenet:") + HPCNAS_SOURCE_DIR + "/data/tiny_imagenet_mini", {});
  ASSERT_TRUE(source.ok()) << source.status().message();
  LoaderOptions options;
  options.transform.resolution = 32;
  options.seed = 5;
  options.global_batch = 12;
  options.shuffle_buffer = 20;
  options.threads = 2;
  const auto load = [&](int rank, int ranks) {
    options.rank = rank;
    options.ranks = ranks;
    auto loader = ImageLoader::Create(**source, options);
    EXPECT_TRUE(loader.ok());
    std::vector<float> pixels;
    std::vector<std::int64_t> ids;
    (*loader)->Start(1);
    while ((*loader)->HasNext()) {
      auto batch = (*loader)->Next();
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok()) break;
      pixels.insert(pixels.end(), batch->pixels.begin(), batch->pixels.end());
      for (size_t i = 0; i < batch->ids.size(); ++i) ids.push_back(batch->ids[i] * 1000 + batch->labels[i]);
    }
    return std::make_pair(ids, pixels);
  };
  const auto [my_ids, my_pixels] = load(g_comm->rank(), g_comm->size());
  const auto [alone_ids, alone_pixels] = load(0, 1);
  auto all_ids = AllGatherConcat(*g_comm, my_ids, Seconds(60));
  auto all_pixels = AllGatherConcat(*g_comm, my_pixels, Seconds(60));
  ASSERT_TRUE(all_ids.ok() && all_pixels.ok());
  // Gathered rank by rank; one process's order is batch by batch, each batch rank by rank.
  const int ranks = g_comm->size();
  const size_t image = 3 * 32 * 32;
  const std::int64_t batches = 60 / 12;
  std::vector<std::int64_t> ids;
  std::vector<float> pixels;
  std::vector<size_t> rank_offset(ranks, 0);
  for (int r = 1; r < ranks; ++r) rank_offset[r] = rank_offset[r - 1] + batches * ((r) * 12 / ranks - (r - 1) * 12 / ranks);
  for (std::int64_t b = 0; b < batches; ++b) {
    for (int r = 0; r < ranks; ++r) {
      const std::int64_t share = (r + 1) * 12 / ranks - r * 12 / ranks;
      const size_t first = rank_offset[r] + b * share;
      ids.insert(ids.end(), all_ids->begin() + first, all_ids->begin() + first + share);
      pixels.insert(pixels.end(), all_pixels->begin() + first * image, all_pixels->begin() + (first + share) * image);
    }
  }
  EXPECT_EQ(ids, alone_ids);
  EXPECT_TRUE(pixels == alone_pixels) << ranks << " ranks vs 1";
}

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
