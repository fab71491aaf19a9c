#include "io/images/shards.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "engine/core/rng.h"
#include "io/files.h"
#include "io/hdf5_file.h"
#include "io/images/jpeg.h"

namespace hpcnas {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBlock = 512;
constexpr std::uint64_t kPackShuffleKey = 0x7061636bULL;  // "pack"

int64_t Padded(int64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

std::uint32_t Crc32(std::string_view bytes, std::uint32_t crc = 0) {
  // zlib's crc32 takes an unsigned int length: feed it in pieces below 4 GiB.
  for (size_t done = 0; done < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return crc;
}

// "train/n01443537/n01443537_0.JPEG" -> "n01443537/n01443537_0": WebDataset's key is the member
// path up to the first dot of its file name, so dots inside the stem become underscores.
std::string KeyOf(const std::string& path) {
  std::string rest = path.substr(path.find('/') + 1);
  const size_t slash = rest.find('/');
  std::string stem = rest.substr(slash + 1);
  if (const size_t dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem.resize(dot);
  std::replace(stem.begin(), stem.end(), '.', '_');
  return rest.substr(0, slash + 1) + stem;
}

// A ustar header for a regular file; mtime 0 and fixed owner so that a shard's bytes depend
// only on its contents.
StatusOr<std::array<char, kBlock>> TarHeader(const std::string& member, int64_t size) {
  std::array<char, kBlock> h{};
  std::string name = member, prefix;
  if (name.size() > 100) {
    const size_t slash = name.rfind('/', 155);
    if (slash == std::string::npos || name.size() - slash - 1 > 100) {
      return Status::InvalidInput("member name '" + member + "' is too long for a tar header");
    }
    prefix = name.substr(0, slash);
    name = name.substr(slash + 1);
  }
  std::memcpy(h.data(), name.data(), name.size());
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 108, 8, "%07o", 0);
  std::snprintf(h.data() + 116, 8, "%07o", 0);
  std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = '0';
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  std::memcpy(h.data() + 345, prefix.data(), prefix.size());
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

struct ParsedHeader {
  std::string name;
  int64_t size = 0;
  bool end = false;  // a zero block: the end of the archive
};

StatusOr<ParsedHeader> ParseTarHeader(const char* block, const std::string& shard) {
  if (std::all_of(block, block + kBlock, [](char c) { return c == 0; })) return ParsedHeader{"", 0, true};
  ParsedHeader p;
  const std::string name(block, strnlen(block, 100));
  const std::string prefix(block + 345, strnlen(block + 345, 155));
  p.name = prefix.empty() ? name : prefix + "/" + name;
  char* end = nullptr;
  const std::string size_field(block + 124, strnlen(block + 124, 12));
  p.size = std::strtoll(size_field.c_str(), &end, 8);
  if (std::memcmp(block + 257, "ustar", 5) != 0 || end == size_field.c_str() || p.size < 0) {
    return Status::InvalidInput("shard " + shard + " has a damaged tar header near member '" + p.name + "'");
  }
  return p;
}

struct Member {
  std::string key;
  int64_t id = 0;
  int32_t label = 0;
  int64_t offset = 0;  // of the JPEG data in the shard
  int64_t size = 0;
  std::uint32_t crc = 0;
};

struct ShardRecord {
  std::string file;
  int64_t bytes = 0;
  std::uint32_t crc = 0;
  std::vector<Member> members;
};

int64_t MemberPairBytes(int64_t jpeg_size, const std::string& cls) {
  return kBlock + Padded(jpeg_size) + kBlock + Padded(static_cast<int64_t>(cls.size()));
}

// Appends bytes to a shard file, keeping its CRC-32 and size.
class ShardWriter {
 public:
  static StatusOr<ShardWriter> Open(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return Status::Io("cannot create shard " + path + ": " + std::strerror(errno));
    return ShardWriter(f, path);
  }
  ShardWriter(ShardWriter&& o) noexcept : file_(o.file_), path_(std::move(o.path_)), crc_(o.crc_), bytes_(o.bytes_) { o.file_ = nullptr; }
  ~ShardWriter() {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Write(std::string_view data) {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      return Status::Io("cannot write shard " + path_ + ": " + std::strerror(errno));
    }
    crc_ = Crc32(data, crc_);
    bytes_ += static_cast<int64_t>(data.size());
    return Status::Ok();
  }
  // A tar member: its header block, its data, zeros to the next block.
  Status WriteMember(std::string_view header, std::string_view data) {
    static const char zeros[kBlock] = {};
    HPCNAS_RETURN_IF_ERROR(Write(header));
    HPCNAS_RETURN_IF_ERROR(Write(data));
    return Write(std::string_view(zeros, Padded(bytes_) - bytes_));
  }
  Status Close() {
    const bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok || !closed) return Status::Io("cannot write shard " + path_ + ": " + std::strerror(errno));
    return Status::Ok();
  }
  std::uint32_t crc() const { return crc_; }
  int64_t bytes() const { return bytes_; }

 private:
  ShardWriter(std::FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
  std::uint32_t crc_ = 0;
  int64_t bytes_ = 0;
};

struct PlannedEntry {
  std::string path;  // relative to ROOT
  std::string key;
  int64_t id = 0;
  int32_t label = 0;
  int64_t size = 0;
};

// Reads a complete shard of an earlier run and checks that its members are the next entries of
// the plan (with skip_corrupt, entries it left out count as skipped). Advances `cursor`.
StatusOr<ShardRecord> VerifyKeptShard(const std::string& path, const std::vector<PlannedEntry>& plan, size_t& cursor,
                                      bool skip_corrupt, int64_t& skipped) {
  HPCNAS_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(path, "shard"));
  ShardRecord record;
  record.file = fs::path(path).filename().string();
  record.bytes = static_cast<int64_t>(data.size());
  record.crc = Crc32(data);
  const auto mismatch = [&](const std::string& why) {
    return Status::InvalidInput("shard " + path + " from an earlier pack does not match this pack (" + why +
                                "); pack into an empty directory, or with the same options as before");
  };
  int64_t pos = 0;
  while (true) {
    if (pos + kBlock > record.bytes) return mismatch("it ends inside a tar header");
    HPCNAS_ASSIGN_OR_RETURN(ParsedHeader jpg, ParseTarHeader(data.data() + pos, path));
    if (jpg.end) break;
    const int64_t data_offset = pos + kBlock;
    if (data_offset + jpg.size > record.bytes) return mismatch("member '" + jpg.name + "' is cut short");
    while (cursor < plan.size() && plan[cursor].key + ".jpg" != jpg.name && skip_corrupt) {
      ++cursor;
      ++skipped;
    }
    if (cursor >= plan.size() || plan[cursor].key + ".jpg" != jpg.name || plan[cursor].size != jpg.size) {
      return mismatch("unexpected member '" + jpg.name + "'");
    }
    const PlannedEntry& e = plan[cursor++];
    record.members.push_back({e.key, e.id, e.label, data_offset,
                              jpg.size, Crc32(std::string_view(data).substr(data_offset, jpg.size))});
    pos = data_offset + Padded(jpg.size);
    if (pos + kBlock > record.bytes) return mismatch("it ends inside a tar header");
    HPCNAS_ASSIGN_OR_RETURN(ParsedHeader cls, ParseTarHeader(data.data() + pos, path));
    if (cls.name != e.key + ".cls") return mismatch("member '" + cls.name + "' where " + e.key + ".cls belongs");
    pos += kBlock + Padded(cls.size);
  }
  return record;
}

Status WriteIndex(const std::string& path, const std::vector<std::string>& classes,
                  const std::vector<std::pair<std::string, std::vector<ShardRecord>>>& splits, const PackOptions& options) {
  return WriteFileAtomically(path, [&](const std::string& temp) -> Status {
    HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(temp));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string("hpcnas.shards")));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", int64_t{1}));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "seed", static_cast<int64_t>(options.seed)));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "shard_bytes_target", options.shard_bytes));
    HPCNAS_RETURN_IF_ERROR(file.SetProvenance(options.provenance));
    HPCNAS_RETURN_IF_ERROR(file.Write("classes", classes));
    for (const auto& [split, shards] : splits) {
      HPCNAS_RETURN_IF_ERROR(file.CreateGroup(split));
      std::vector<std::string> shard_file, key;
      std::vector<int64_t> shard_bytes, shard_crc, shard, offset, size, label, id, crc;
      for (size_t s = 0; s < shards.size(); ++s) {
        shard_file.push_back(shards[s].file);
        shard_bytes.push_back(shards[s].bytes);
        shard_crc.push_back(shards[s].crc);
        for (const Member& m : shards[s].members) {
          key.push_back(m.key);
          shard.push_back(static_cast<int64_t>(s));
          offset.push_back(m.offset);
          size.push_back(m.size);
          label.push_back(m.label);
          id.push_back(m.id);
          crc.push_back(m.crc);
        }
      }
      const std::string g = split + "/";
      for (const auto& [name, values] : std::vector<std::pair<std::string, const std::vector<std::string>*>>{
               {"shard_file", &shard_file}, {"key", &key}}) {
        HPCNAS_RETURN_IF_ERROR(file.Write(g + name, *values));
      }
      for (const auto& [name, values] : std::vector<std::pair<std::string, const std::vector<int64_t>*>>{
               {"shard_bytes", &shard_bytes}, {"shard_crc32", &shard_crc}, {"shard", &shard}, {"offset", &offset},
               {"size", &size}, {"label", &label}, {"id", &id}, {"crc32", &crc}}) {
        HPCNAS_RETURN_IF_ERROR(file.Write(g + name, *values));
      }
    }
    return file.Close();
  });
}

}  // namespace

StatusOr<PackReport> PackImageFolder(const PackOptions& options, const std::function<void(const std::string&)>& progress) {
  if (options.shard_bytes < 16 << 10) {
    return Status::InvalidInput("--shard-size must be at least 16K, got " + std::to_string(options.shard_bytes) + " bytes");
  }
  HPCNAS_ASSIGN_OR_RETURN(FolderListing listing, ListImageFolder(options.from, options.holdout));
  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec) return Status::Io("cannot create " + options.out + ": " + ec.message());
  const std::string index_path = options.out + "/index.h5";
  fs::remove(index_path, ec);  // rewritten at the end; its absence marks an unfinished pack

  PackReport report;
  std::vector<std::pair<std::string, std::vector<ShardRecord>>> splits;
  for (const std::string split : {"train", "val"}) {
    std::vector<PlannedEntry> plan;
    for (int64_t id = 0; id < static_cast<int64_t>(listing.entries.size()); ++id) {
      const FolderListing::Entry& e = listing.entries[id];
      if (e.split != split) continue;
      const int64_t size = static_cast<int64_t>(fs::file_size(options.from + "/" + e.path, ec));
      if (ec) return Status::Io("cannot read " + options.from + "/" + e.path + ": " + ec.message());
      plan.push_back({e.path, KeyOf(e.path), id, e.label, size});
    }
    if (plan.empty()) continue;
    // A seeded shuffle, so that each shard holds a mix of classes.
    CounterRng rng(options.seed, {kPackShuffleKey, split == std::string("train") ? 0u : 1u});
    std::vector<PlannedEntry> shuffled;
    for (int64_t i : SampleWithoutReplacement(rng, static_cast<int64_t>(plan.size()), static_cast<int64_t>(plan.size()))) {
      shuffled.push_back(std::move(plan[i]));
    }
    std::vector<ShardRecord> shards;
    size_t cursor = 0;
    while (cursor < shuffled.size()) {
      char name[64];
      std::snprintf(name, sizeof name, "%s-%06zu.tar", split.c_str(), shards.size());
      const std::string path = options.out + "/" + name;
      if (fs::exists(path)) {
        HPCNAS_ASSIGN_OR_RETURN(ShardRecord kept, VerifyKeptShard(path, shuffled, cursor, options.skip_corrupt, report.skipped));
        report.samples += static_cast<int64_t>(kept.members.size());
        report.bytes += kept.bytes;
        ++report.shards_kept;
        shards.push_back(std::move(kept));
        continue;
      }
      const std::string temp = path + ".tmp";
      HPCNAS_ASSIGN_OR_RETURN(ShardWriter writer, ShardWriter::Open(temp));
      ShardRecord record;
      record.file = name;
      Status status;
      while (status.ok() && cursor < shuffled.size()) {
        const PlannedEntry& e = shuffled[cursor];
        const std::string cls = std::to_string(e.label);
        if (!record.members.empty() && writer.bytes() + MemberPairBytes(e.size, cls) + 2 * kBlock > options.shard_bytes) break;
        ++cursor;
        const std::string source = options.from + "/" + e.path;
        auto jpeg = ReadWholeFile(source, "image");
        Status valid = jpeg.ok() ? ReadJpegInfo(*jpeg, source).status() : jpeg.status();
        if (valid.ok() && static_cast<int64_t>(jpeg->size()) != e.size) valid = Status::Io(source + " changed while packing");
        if (!valid.ok()) {
          if (options.skip_corrupt && valid.kind() == ErrorKind::kInvalidInput) {
            ++report.skipped;
            progress("skipping " + valid.message());
            continue;
          }
          status = valid;
          break;
        }
        auto header = TarHeader(e.key + ".jpg", e.size);
        auto cls_header = TarHeader(e.key + ".cls", static_cast<int64_t>(cls.size()));
        if (!header.ok() || !cls_header.ok()) {
          status = header.ok() ? cls_header.status() : header.status();
          break;
        }
        const int64_t offset = writer.bytes() + kBlock;
        status = writer.WriteMember({header->data(), kBlock}, *jpeg);
        if (status.ok()) status = writer.WriteMember({cls_header->data(), kBlock}, cls);
        record.members.push_back({e.key, e.id, e.label, offset, e.size, Crc32(*jpeg)});
      }
      if (status.ok()) status = writer.Write(std::string(2 * kBlock, '\0'));
      record.bytes = writer.bytes();
      record.crc = writer.crc();
      if (status.ok()) status = writer.Close();
      if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
        status = Status::Io("cannot rename " + temp + " to " + path + ": " + std::strerror(errno));
      }
      if (!status.ok()) {
        fs::remove(temp, ec);
        return status;
      }
      if (record.members.empty()) {  // only skipped files were left: no shard
        fs::remove(path, ec);
        break;
      }
      report.samples += static_cast<int64_t>(record.members.size());
      report.bytes += record.bytes;
      ++report.shards_written;
      progress(std::string("wrote ") + name + " (" + std::to_string(record.members.size()) + " images, " +
               std::to_string(record.bytes >> 20) + " MiB)");
      shards.push_back(std::move(record));
    }
    splits.emplace_back(split, std::move(shards));
  }
  HPCNAS_RETURN_IF_ERROR(WriteIndex(index_path, listing.classes, splits, options));
  return report;
}

namespace {

class ShardSource final : public ImageSource {
 public:
  ShardSource(std::string dir, std::vector<std::string> classes) : dir_(std::move(dir)), classes_(std::move(classes)) {}
  ~ShardSource() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  Status Load(const h5::File& index, const std::string& split) {
    const std::string g = split + "/";
    HPCNAS_ASSIGN_OR_RETURN(shard_files_, index.ReadStrings(g + "shard_file"));
    HPCNAS_ASSIGN_OR_RETURN(std::vector<int64_t> shard_bytes, index.ReadInt64s(g + "shard_bytes"));
    HPCNAS_ASSIGN_OR_RETURN(keys_, index.ReadStrings(g + "key"));
    HPCNAS_ASSIGN_OR_RETURN(shard_, index.ReadInt64s(g + "shard"));
    HPCNAS_ASSIGN_OR_RETURN(offset_, index.ReadInt64s(g + "offset"));
    HPCNAS_ASSIGN_OR_RETURN(size_, index.ReadInt64s(g + "size"));
    HPCNAS_ASSIGN_OR_RETURN(label_, index.ReadInt64s(g + "label"));
    HPCNAS_ASSIGN_OR_RETURN(id_, index.ReadInt64s(g + "id"));
    HPCNAS_ASSIGN_OR_RETURN(crc_, index.ReadInt64s(g + "crc32"));
    const size_t n = keys_.size();
    const auto corrupt = [&](const std::string& why) { return Status::InvalidInput("shard index " + index.path() + " is corrupt: " + why); };
    if (shard_bytes.size() != shard_files_.size()) return corrupt(split + "/shard_bytes and shard_file differ in length");
    for (const auto* column : {&shard_, &offset_, &size_, &label_, &id_, &crc_}) {
      if (column->size() != n) return corrupt(split + " sample columns differ in length");
    }
    for (size_t i = 0; i < n; ++i) {
      if (shard_[i] < 0 || shard_[i] >= static_cast<int64_t>(shard_files_.size()) || offset_[i] < 0 || size_[i] < 0 ||
          offset_[i] + size_[i] > shard_bytes[shard_[i]] || label_[i] < 0 || label_[i] >= static_cast<int64_t>(classes_.size()) ||
          (i > 0 && shard_[i] < shard_[i - 1])) {
        return corrupt("sample " + std::to_string(i) + " (" + keys_[i] + ") points outside its shard");
      }
    }
    // Every shard present with the size the index recorded: a missing or cut-short shard is
    // found here, before any work.
    std::error_code ec;
    for (size_t s = 0; s < shard_files_.size(); ++s) {
      const std::string path = dir_ + "/" + shard_files_[s];
      const auto size = fs::file_size(path, ec);
      if (ec) return Status::InvalidInput("shard " + path + " listed in the index cannot be read: " + ec.message());
      if (static_cast<int64_t>(size) != shard_bytes[s]) {
        return Status::InvalidInput("shard " + path + " has " + std::to_string(size) + " bytes, the index says " +
                                    std::to_string(shard_bytes[s]) + " (damaged or replaced)");
      }
    }
    fds_.assign(shard_files_.size(), -1);
    return Status::Ok();
  }

  int64_t size() const override { return static_cast<int64_t>(keys_.size()); }
  const std::vector<std::string>& classes() const override { return classes_; }
  int32_t Label(int64_t p) const override { return static_cast<int32_t>(label_[p]); }
  int64_t Id(int64_t p) const override { return id_[p]; }
  std::string Name(int64_t p) const override { return keys_[p] + ".jpg in shard " + dir_ + "/" + shard_files_[shard_[p]]; }

  StatusOr<std::string> ReadBytes(int64_t p) const override {
    HPCNAS_ASSIGN_OR_RETURN(int fd, ShardFd(shard_[p]));
    std::string bytes(size_[p], '\0');
    for (int64_t done = 0; done < size_[p];) {
      const ssize_t n = pread(fd, bytes.data() + done, size_[p] - done, offset_[p] + done);
      if (n <= 0) return Status::Io("cannot read " + Name(p) + ": " + (n == 0 ? "unexpected end of file" : std::strerror(errno)));
      done += n;
    }
    if (static_cast<int64_t>(Crc32(bytes)) != crc_[p]) {
      return Status::InvalidInput("checksum mismatch: " + Name(p) + " is not the data that was packed");
    }
    return bytes;
  }

  std::vector<std::pair<int64_t, int64_t>> Groups() const override {
    std::vector<std::pair<int64_t, int64_t>> groups;
    for (int64_t i = 0; i < size(); ++i) {
      if (i == 0 || shard_[i] != shard_[i - 1]) groups.push_back({i, i});
      groups.back().second = i + 1;
    }
    return groups;
  }

 private:
  StatusOr<int> ShardFd(int64_t shard) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fds_[shard] < 0) {
      const std::string path = dir_ + "/" + shard_files_[shard];
      fds_[shard] = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fds_[shard] < 0) return Status::Io("cannot open shard " + path + ": " + std::strerror(errno));
    }
    return fds_[shard];
  }

  std::string dir_;
  std::vector<std::string> classes_, shard_files_, keys_;
  std::vector<int64_t> shard_, offset_, size_, label_, id_, crc_;
  mutable std::mutex mutex_;
  mutable std::vector<int> fds_;
};

}  // namespace

StatusOr<std::unique_ptr<ImageSource>> OpenShardSource(const std::string& dir, const std::string& split) {
  const std::string path = dir + "/index.h5";
  if (!fs::exists(path)) {
    return Status::InvalidInput("shard directory " + dir + " has no index.h5 (not written by hpcnas pack, or the pack did not finish)");
  }
  HPCNAS_ASSIGN_OR_RETURN(h5::File index, h5::File::OpenReadOnly(path));
  auto kind = index.ReadStringAttribute("/", "kind");
  if (!kind.ok() || *kind != "hpcnas.shards") return Status::InvalidInput(path + " is not an hpcnas shard index");
  HPCNAS_ASSIGN_OR_RETURN(int64_t version, index.ReadInt64Attribute("/", "schema_version"));
  if (version != 1) {
    return Status::InvalidInput(path + " has shard index schema " + std::to_string(version) + "; this hpcnas reads schema 1");
  }
  HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> classes, index.ReadStrings("classes"));
  auto source = std::make_unique<ShardSource>(dir, std::move(classes));
  if (!index.Exists(split)) return Status::InvalidInput("shard index " + path + " has no '" + split + "' split");
  HPCNAS_RETURN_IF_ERROR(source->Load(index, split));
  return std::unique_ptr<ImageSource>(std::move(source));
}

}  // namespace hpcnas
