#pragma once
// Progress lines for long work: "label 1200/15625 (7.7%) | 43.1 arch/s | 28s elapsed | ETA 5m34s".

#include <chrono>
#include <cstdint>
#include <string>

namespace hpcnas {

// "5m34s", "1h02m", "12s"
std::string FormatDuration(double seconds);

// "19.0 queries/s", "2.6 queries/min", "1.5 queries/h": per second down to 1/s, then per minute,
// then per hour, so that a slow evaluator (minutes a candidate) does not read "0.0 queries/s".
std::string FormatRate(double per_second, const std::string& unit);

class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressMeter(std::string label, int64_t total, std::string unit, double interval_seconds);

  // A line when `interval_seconds` have passed since the last one (or the work is complete),
  // otherwise an empty string.
  std::string Update(int64_t done, Clock::time_point now = Clock::now());
  std::string Line(int64_t done, Clock::time_point now = Clock::now()) const;
  double ElapsedSeconds(Clock::time_point now = Clock::now()) const;

 private:
  std::string label_;
  int64_t total_;
  std::string unit_;
  double interval_;
  Clock::time_point start_;
  Clock::time_point last_line_;
  bool reported_complete_ = false;
};

}  // namespace hpcnas
