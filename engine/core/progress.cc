#include "engine/core/progress.h"

#include <cmath>
#include <cstdio>

namespace hpcnas {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%llds", s);
  }
  return buffer;
}

std::string FormatRate(double per_second, const std::string& unit) {
  if (!std::isfinite(per_second) || per_second < 0) return "? " + unit + "/s";
  char buffer[64];
  if (per_second >= 1) {
    std::snprintf(buffer, sizeof(buffer), "%.1f %s/s", per_second, unit.c_str());
  } else if (per_second * 60 >= 1) {
    std::snprintf(buffer, sizeof(buffer), "%.1f %s/min", per_second * 60, unit.c_str());
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1f %s/h", per_second * 3600, unit.c_str());
  }
  return buffer;
}

ProgressMeter::ProgressMeter(std::string label, int64_t total, std::string unit, double interval_seconds)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)), interval_(interval_seconds),
      start_(Clock::now()), last_line_(start_) {}

double ProgressMeter::ElapsedSeconds(Clock::time_point now) const {
  return std::chrono::duration<double>(now - start_).count();
}

std::string ProgressMeter::Line(int64_t done, Clock::time_point now) const {
  const double elapsed = ElapsedSeconds(now);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : NAN;
  const double percent = total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), "%s %lld/%lld (%.1f%%) | %s | %s elapsed | ETA %s", label_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), percent, FormatRate(rate, unit_).c_str(),
                FormatDuration(elapsed).c_str(), done >= total_ ? "0s" : FormatDuration(eta).c_str());
  return buffer;
}

std::string ProgressMeter::Update(int64_t done, Clock::time_point now) {
  const bool complete = done >= total_;
  if (complete && reported_complete_) return {};
  if (!complete && std::chrono::duration<double>(now - last_line_).count() < interval_) return {};
  last_line_ = now;
  reported_complete_ = complete;
  return Line(done, now);
}

}  // namespace hpcnas
