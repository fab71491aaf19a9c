#pragma once
// The messages ranks exchange, and their codec: Boost.Serialization binary archives behind a
// 32-byte header (magic "HPNM", format version, message type, payload length, FNV-1a checksum).
// A corrupt, truncated, foreign or wrong-version message is a clear error, never a crash:
// the header and checksum are checked before Boost reads a byte.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/comm/communicator.h"
#include "engine/core/status.h"
#include "io/image_bytes.h"
#include "io/search_files.h"

namespace hpcnas {

inline constexpr std::uint32_t kMessageFormatVersion = 6;  // 6: the evaluator's training time and supernet checkpoint; 2: ScoreJobSpec carries architecture bytes; 3: so does SearchStart; 4: images of any size (ImageBytes); 5: queries carry their failure

// Rank 0 -> all, once: what to score and with what.
struct ScoreJobSpec {
  static constexpr std::uint32_t kType = 1;
  std::string config_toml;             // the validated Config
  std::vector<std::string> archs;      // canonical bytes of the architectures to score (Architecture::Bytes)
  ImageBytes images;                   // the epsilon batch
};

// Worker -> rank 0: the scores of a finished chunk (if any), and whether it wants another.
struct WorkerReport {
  static constexpr std::uint32_t kType = 2;
  std::int32_t rank = 0;
  bool wants_more = true;
  bool has_result = false;
  std::int64_t begin = 0;       // with has_result: the chunk [begin, end)
  std::int64_t end = 0;
  std::vector<double> values;   // (end - begin) * values_per_item values; NaN is a valid score
  std::vector<double> seconds;  // time spent on each
};

// Rank 0 -> worker: positions [begin, end) of the job's list, or no more work.
struct WorkAssignment {
  static constexpr std::uint32_t kType = 3;
  bool has_work = false;
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// Rank 0 -> all, once: the search to run (the validated config), the epsilon batch, and the
// checkpoint to resume from (has_checkpoint), so every rank starts from the same replica.
struct SearchStart {
  static constexpr std::uint32_t kType = 4;
  std::string config_toml;
  std::string run_id;  // the search's (io/search_files.h), kept by every resume
  ImageBytes images;   // the epsilon batch
  bool has_checkpoint = false;
  SearchCheckpoint checkpoint;
};

// Evaluations by position (workers/spread_evaluator.h): an accuracy (NaN where it failed) and
// the reason of each failure (empty otherwise), gathered and then broadcast.
struct EvaluationsMessage {
  static constexpr std::uint32_t kType = 5;
  std::vector<std::int64_t> position;
  std::vector<double> accuracy;
  std::vector<std::string> failure;
};

// Point-to-point tags of the scoring protocol (scheduler/score_coordinator.h).
enum MessageTag : int {
  kTagWorkerReport = 101,
  kTagAssignment = 102,
};

template <typename T>
Bytes EncodeMessage(const T& message);
template <typename T>
StatusOr<T> DecodeMessage(const Bytes& bytes);

}  // namespace hpcnas
