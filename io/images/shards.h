#pragma once
// WebDataset-compatible tar shards of JPEGs, written by `hpcnas pack` and read through an index.
//
// A shard is a plain POSIX (ustar) tar of member pairs `<key>.jpg` (the original JPEG bytes,
// unchanged) and `<key>.cls` (the class index as decimal text), key = "<wnid>/<file stem>":
// what Python's `webdataset` and `tar` read. Shards are named `<split>-NNNNNN.tar`, filled to
// about `shard_bytes`, from a seeded shuffle of the split (so a shard mixes classes).
//
// `index.h5` beside them (h5py-readable) holds, per split group `/train`, `/val`:
//   shard_file string[s], shard_bytes int64[s], shard_crc32 int64[s] (zlib CRC-32 of the file),
//   key string[n], shard int64[n], offset int64[n] (of the JPEG data in its shard), size int64[n],
//   label int64[n], id int64[n] (the sample's id in the folder, io/images/image_source.h),
//   crc32 int64[n] (of the JPEG bytes);
// and `/classes` string[c], `/@kind` = "hpcnas.shards", `/@schema_version` = 1.
// Reading checks every member's CRC-32 and every shard's size against the index, so a damaged
// shard is an error naming it, never different data.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/core/status.h"
#include "io/images/image_source.h"
#include "io/provenance.h"

namespace hpcnas {

struct PackOptions {
  std::string from;                      // ROOT of a folder-per-class layout
  std::string out;                       // directory for the shards and index.h5
  int64_t shard_bytes = int64_t{1} << 30;
  std::uint64_t seed = 0;                // the shuffle that spreads classes over shards
  double holdout = 0.0;                  // as ImageSourceOptions::holdout
  bool skip_corrupt = false;             // leave out (and count) files that are not readable JPEGs
  Provenance provenance;                 // of index.h5
};

struct PackReport {
  int64_t shards_written = 0;
  int64_t shards_kept = 0;  // complete shards of an earlier, interrupted pack, verified and kept
  int64_t samples = 0;
  int64_t skipped = 0;      // with skip_corrupt: files left out
  int64_t bytes = 0;
};

// Resumable: a shard is written as NAME.tmp and renamed when complete; a later run with the same
// options keeps the shards that are complete and match the plan, and writes the rest. The index
// is written last, so a directory with index.h5 is a complete pack.
StatusOr<PackReport> PackImageFolder(const PackOptions& options,
                                     const std::function<void(const std::string& line)>& progress);

StatusOr<std::unique_ptr<ImageSource>> OpenShardSource(const std::string& dir, const std::string& split);

}  // namespace hpcnas
