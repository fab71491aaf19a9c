#include "io/messages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace hpcnas {
namespace {

ScoreJobSpec SampleSpec() {
  ScoreJobSpec spec;
  spec.config_toml = "command = 'score'\n";
  spec.archs = {std::string("\x00\x01\x02\x03\x04\x00", 6), "22212202", ""};
  spec.images.count = 2;
  spec.images.size = 40;
  spec.images.mean = {0.5f, 0.25f, 0.125f};
  spec.images.stddev = {1.0f, 2.0f, 3.0f};
  spec.images.pixels = std::vector<std::uint8_t>(2 * 3 * 40 * 40, 200);
  return spec;
}

TEST(Messages, RoundTripEveryType) {
  auto spec = DecodeMessage<ScoreJobSpec>(EncodeMessage(SampleSpec()));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->config_toml, SampleSpec().config_toml);
  EXPECT_EQ(spec->archs, SampleSpec().archs);
  EXPECT_EQ(spec->images.pixels, SampleSpec().images.pixels);
  EXPECT_EQ(spec->images.size, 40);
  EXPECT_EQ(spec->images.mean, SampleSpec().images.mean);
  EXPECT_EQ(spec->images.stddev, SampleSpec().images.stddev);

  WorkerReport report;
  report.rank = 3;
  report.has_result = true;
  report.begin = 10;
  report.end = 12;
  report.values = {0.5, std::nan("")};
  report.seconds = {1.0, 2.0};
  auto decoded = DecodeMessage<WorkerReport>(EncodeMessage(report));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->rank, 3);
  EXPECT_TRUE(decoded->has_result);
  EXPECT_EQ(decoded->values[0], 0.5);
  EXPECT_TRUE(std::isnan(decoded->values[1]));  // NaN survives the wire

  auto assignment = DecodeMessage<WorkAssignment>(EncodeMessage(WorkAssignment{true, 5, 9}));
  ASSERT_TRUE(assignment.ok());
  EXPECT_TRUE(assignment->has_work);
  EXPECT_EQ(assignment->end, 9);
}

TEST(Messages, EveryFlippedPayloadByteIsDetected) {
  const Bytes good = EncodeMessage(WorkAssignment{true, 5, 9});
  for (std::size_t i = 32; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x5a;
    auto decoded = DecodeMessage<WorkAssignment>(bad);
    ASSERT_FALSE(decoded.ok()) << "byte " << i;
    EXPECT_NE(decoded.status().message().find("checksum mismatch"), std::string::npos);
  }
}

TEST(Messages, TruncatedForeignAndWrongTypeMessagesAreClearErrors) {
  const Bytes good = EncodeMessage(SampleSpec());
  auto truncated = DecodeMessage<ScoreJobSpec>(Bytes(good.begin(), good.begin() + good.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("header says"), std::string::npos) << truncated.status().message();

  auto tiny = DecodeMessage<ScoreJobSpec>(Bytes(good.begin(), good.begin() + 10));
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("shorter than the 32-byte header"), std::string::npos);

  Bytes foreign = good;
  foreign[0] = 'X';
  EXPECT_NE(DecodeMessage<ScoreJobSpec>(foreign).status().message().find("bad magic"), std::string::npos);

  auto wrong_type = DecodeMessage<WorkerReport>(good);
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("expected message type 2, got 1"), std::string::npos);

  Bytes newer = good;
  const std::uint32_t version = kMessageFormatVersion + 1;
  std::memcpy(newer.data() + 4, &version, sizeof(version));
  auto future = DecodeMessage<ScoreJobSpec>(newer);
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.status().message().find("format version " + std::to_string(version) + " is not supported"), std::string::npos);
}

TEST(Messages, AConsistentHeaderOverTheWrongArchiveIsAnError) {
  // The header and checksum are right, but the payload is a WorkAssignment read as a spec:
  // Boost runs out of input and the codec reports it instead of crashing.
  Bytes relabelled = EncodeMessage(WorkAssignment{true, 5, 9});
  const std::uint32_t type = ScoreJobSpec::kType;
  std::memcpy(relabelled.data() + 8, &type, sizeof(type));
  auto decoded = DecodeMessage<ScoreJobSpec>(relabelled);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("cannot decode payload"), std::string::npos) << decoded.status().message();
}

}  // namespace
}  // namespace hpcnas
