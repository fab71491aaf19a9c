#include "engine/core/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

namespace hpcnas {
namespace {

TEST(Progress, DurationsReadAsHoursMinutesSeconds) {
  EXPECT_EQ(FormatDuration(12.4), "12s");
  EXPECT_EQ(FormatDuration(334), "5m34s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(NAN), "?");
  EXPECT_EQ(FormatDuration(-1), "?");
}

// A supernet or command evaluator takes seconds to minutes a candidate: its rate must not read
// "0.0 queries/s" while the search is making progress.
TEST(Progress, SlowRatesSwitchToPerMinuteThenPerHour) {
  EXPECT_EQ(FormatRate(19.04, "queries"), "19.0 queries/s");
  EXPECT_EQ(FormatRate(1.0, "queries"), "1.0 queries/s");
  EXPECT_EQ(FormatRate(0.04, "queries"), "2.4 queries/min");
  EXPECT_EQ(FormatRate(1.0 / 60, "queries"), "1.0 queries/min");
  EXPECT_EQ(FormatRate(1.5 / 3600, "queries"), "1.5 queries/h");
  EXPECT_EQ(FormatRate(0, "queries"), "0.0 queries/h");
  EXPECT_EQ(FormatRate(NAN, "queries"), "? queries/s");
}

TEST(Progress, MeterReportsAtIntervalsAndOnceWhenComplete) {
  ProgressMeter meter("scored", 100, "arch", 10.0);
  const auto start = ProgressMeter::Clock::now();
  EXPECT_EQ(meter.Update(10, start + std::chrono::seconds(5)), "");
  const std::string line = meter.Update(50, start + std::chrono::seconds(25));
  EXPECT_NE(line.find("scored 50/100 (50.0%) | 2.0 arch/s |"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 25s"), std::string::npos) << line;
  EXPECT_NE(meter.Update(100, start + std::chrono::seconds(26)), "");
  EXPECT_EQ(meter.Update(100, start + std::chrono::seconds(60)), "");
}

}  // namespace
}  // namespace hpcnas
