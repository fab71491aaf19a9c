#include "app/data_commands.h"

#include <cctype>
#include <chrono>

#include <spdlog/spdlog.h>

#include "app/command_support.h"
#include "io/images/shards.h"

namespace hpcnas {
namespace {

StatusOr<int64_t> ParseByteSize(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!suffix.empty() && suffix.back() == 'B') suffix.pop_back();
  if (suffix.size() == 2 && suffix.back() == 'I') suffix.pop_back();  // "GiB"
  const double unit = suffix.empty() ? 1 : suffix == "K" ? 1024.0 : suffix == "M" ? 1048576.0 : suffix == "G" ? 1073741824.0 : -1;
  if (used == 0 || unit < 0 || !(value > 0)) {
    return Status::InvalidInput("--shard-size '" + text + "' is not a size (bytes, or a number with K, M or G)");
  }
  return static_cast<int64_t>(value * unit);
}

}  // namespace

int RunPackCommand(const PackRequest& request, const std::string& command_line) {
  auto shard_bytes = ParseByteSize(request.shard_size);
  if (!shard_bytes.ok()) {
    LogError(shard_bytes.status().message());
    return 2;
  }
  PackOptions options;
  options.provenance = RunProvenance(command_line, 1);
  options.from = request.from;
  options.out = request.out;
  options.shard_bytes = *shard_bytes;
  options.seed = request.seed;
  options.holdout = request.holdout;
  options.skip_corrupt = request.skip_corrupt;
  const auto start = std::chrono::steady_clock::now();
  auto report = PackImageFolder(options, [](const std::string& line) { spdlog::info("pack: {}", line); });
  if (!report.ok()) {
    LogError(report.status().message());
    return report.status().ExitCode();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("pack: {} images in {} shards ({} written, {} kept from an earlier run), {:.1f} MiB, {} skipped, "
               "{:.1f} s; index {}/index.h5",
               report->samples, report->shards_written + report->shards_kept, report->shards_written, report->shards_kept,
               report->bytes / 1048576.0, report->skipped, seconds, request.out);
  return 0;
}

}  // namespace hpcnas
