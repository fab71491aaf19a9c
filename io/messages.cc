#include "io/messages.h"

#include <cstring>
#include <sstream>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "io/files.h"

namespace hpcnas {

// Boost finds these by argument-dependent lookup. `version` is the per-type version that
// BOOST_CLASS_VERSION would raise when a field is added.
template <typename Archive>
void serialize(Archive& ar, ImageBytes& m, unsigned /*version*/) {
  ar & m.count & m.size & m.mean & m.stddev & m.pixels;
}
template <typename Archive>
void serialize(Archive& ar, ScoreJobSpec& m, unsigned /*version*/) {
  ar & m.config_toml & m.archs & m.images;
}
template <typename Archive>
void serialize(Archive& ar, WorkerReport& m, unsigned /*version*/) {
  ar & m.rank & m.wants_more & m.has_result & m.begin & m.end & m.values & m.seconds;
}
template <typename Archive>
void serialize(Archive& ar, WorkAssignment& m, unsigned /*version*/) {
  ar & m.has_work & m.begin & m.end;
}

template <typename Archive>
void serialize(Archive& ar, Architecture& m, unsigned /*version*/) {
  ar & m.choices;
}
template <typename Archive>
void serialize(Archive& ar, Query& m, unsigned /*version*/) {
  ar & m.arch & m.accuracy & m.generation & m.failure;
}
template <typename Archive>
void serialize(Archive& ar, EpsilonRecord& m, unsigned /*version*/) {
  ar & m.arch & m.epsilon & m.epsilon_exact;
}
template <typename Archive>
void serialize(Archive& ar, GenerationRecord& m, unsigned /*version*/) {
  for (const GenerationColumn& column : kGenerationColumns) ar & (m.*column.field);
}
template <typename Archive>
void serialize(Archive& ar, SearchState& m, unsigned /*version*/) {
  ar & m.next_generation & m.queries & m.population & m.epsilon & m.generations;
}
template <typename Archive>
void serialize(Archive& ar, NamedArray& m, unsigned /*version*/) {
  ar & m.name & m.shape & m.values;
}
template <typename Archive>
void serialize(Archive& ar, SearchCheckpoint& m, unsigned /*version*/) {
  // The predictor's replica state; the rest of PredictorFile is not part of a search.
  ar & m.space & m.config_toml & m.run_id & m.state & m.predictor.parameters & m.predictor.adam_first_moment &
      m.predictor.adam_second_moment & m.predictor.adam_step & m.predictor.target_mean & m.predictor.target_std &
      m.supernet_checkpoint;
}
template <typename Archive>
void serialize(Archive& ar, SearchStart& m, unsigned /*version*/) {
  ar & m.config_toml & m.run_id & m.images & m.has_checkpoint & m.checkpoint;
}
template <typename Archive>
void serialize(Archive& ar, EvaluationsMessage& m, unsigned /*version*/) {
  ar & m.position & m.accuracy & m.failure;
}

namespace {

constexpr char kMagic[4] = {'H', 'P', 'N', 'M'};

struct Header {
  char magic[4];
  std::uint32_t format_version;
  std::uint32_t type;
  std::uint32_t reserved;
  std::uint64_t payload_size;
  std::uint64_t checksum;
};
static_assert(sizeof(Header) == 32, "the message header is 32 bytes");

constexpr unsigned kArchiveFlags = boost::archive::no_header;

}  // namespace

template <typename T>
Bytes EncodeMessage(const T& message) {
  std::ostringstream stream;
  {
    boost::archive::binary_oarchive archive(stream, kArchiveFlags);
    archive << message;
  }
  const std::string payload = stream.str();
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.format_version = kMessageFormatVersion;
  header.type = T::kType;
  header.payload_size = payload.size();
  header.checksum = Fnv1a64(payload.data(), payload.size());
  Bytes bytes(sizeof(Header) + payload.size());
  std::memcpy(bytes.data(), &header, sizeof(Header));
  std::memcpy(bytes.data() + sizeof(Header), payload.data(), payload.size());
  return bytes;
}

template <typename T>
StatusOr<T> DecodeMessage(const Bytes& bytes) {
  auto corrupt = [](const std::string& why) { return Status::Communication("corrupt message: " + why); };
  if (bytes.size() < sizeof(Header)) {
    return corrupt("only " + std::to_string(bytes.size()) + " bytes, shorter than the 32-byte header");
  }
  Header header;
  std::memcpy(&header, bytes.data(), sizeof(Header));
  if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) return corrupt("bad magic (not an hpcnas message)");
  if (header.format_version != kMessageFormatVersion) {
    return Status::Communication("message format version " + std::to_string(header.format_version) +
                                 " is not supported (this build reads version " +
                                 std::to_string(kMessageFormatVersion) + "); are all ranks the same build?");
  }
  if (header.type != T::kType) {
    return corrupt("expected message type " + std::to_string(T::kType) + ", got " + std::to_string(header.type));
  }
  if (header.payload_size != bytes.size() - sizeof(Header)) {
    return corrupt("payload is " + std::to_string(bytes.size() - sizeof(Header)) + " bytes, header says " +
                   std::to_string(header.payload_size));
  }
  if (Fnv1a64(bytes.data() + sizeof(Header), header.payload_size) != header.checksum) {
    return corrupt("checksum mismatch");
  }
  T message;
  try {
    std::istringstream stream(std::string(bytes.data() + sizeof(Header), header.payload_size));
    boost::archive::binary_iarchive archive(stream, kArchiveFlags);
    archive >> message;
  } catch (const std::exception& e) {
    return corrupt(std::string("cannot decode payload: ") + e.what());
  }
  return message;
}

#define HPCNAS_INSTANTIATE_MESSAGE(T)             \
  template Bytes EncodeMessage<T>(const T&);      \
  template StatusOr<T> DecodeMessage<T>(const Bytes&);
HPCNAS_INSTANTIATE_MESSAGE(ScoreJobSpec)
HPCNAS_INSTANTIATE_MESSAGE(WorkerReport)
HPCNAS_INSTANTIATE_MESSAGE(WorkAssignment)
HPCNAS_INSTANTIATE_MESSAGE(SearchStart)
HPCNAS_INSTANTIATE_MESSAGE(EvaluationsMessage)
#undef HPCNAS_INSTANTIATE_MESSAGE

}  // namespace hpcnas
