#pragma once
// Where labelled JPEGs come from: one interface, two sources.
//
// - A folder per class (the ImageNet / Tiny-ImageNet layout): ROOT/train/<wnid>/*.JPEG, class
//   order = the sorted folder names of train/. The `val` split is ROOT/val/<wnid>/ when it exists
//   (its folders must be classes of train/); otherwise the last `holdout` share of each class's
//   sorted files (and `train` is the rest).
// - WebDataset tar shards written by `hpcnas pack` (io/images/shards.h), read through their index.
//
// A sample's `id` is its position in the folder's listing (sorted classes, then sorted file
// names, train before val), whatever the source: the shards record it, so a packed copy gives
// every sample the same id, and the same crop and flip, as the folder it came from.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual int64_t size() const = 0;
  virtual const std::vector<std::string>& classes() const = 0;
  virtual int32_t Label(int64_t position) const = 0;
  virtual int64_t Id(int64_t position) const = 0;
  // The encoded JPEG; safe to call from several threads at once.
  virtual StatusOr<std::string> ReadBytes(int64_t position) const = 0;
  // "train/n01443537/n01443537_0.JPEG" or "n01443537/n01443537_0.jpg in shard train-000003.tar".
  virtual std::string Name(int64_t position) const = 0;
  // Runs of positions stored together, [begin, end) in order: one per shard, or one per sample
  // in a folder. An epoch permutes the groups (io/images/loader.h).
  virtual std::vector<std::pair<int64_t, int64_t>> Groups() const = 0;
};

struct ImageSourceOptions {
  std::string split = "train";  // "train" or "val"
  double holdout = 0.0;         // share of each train class held out as `val` when there is no val/ folder
};

// `spec` is "imagenet:DIR" (a folder per class) or "shards:DIR" (the output of `hpcnas pack`).
StatusOr<std::unique_ptr<ImageSource>> OpenImageSource(const std::string& spec, const ImageSourceOptions& options);

// The folder layout as a list (train then val), for the folder source and for `hpcnas pack`.
struct FolderListing {
  std::vector<std::string> classes;  // sorted folder names of train/
  struct Entry {
    std::string path;      // relative to ROOT: "train/<wnid>/<file>"
    std::string split;     // "train" or "val"
    int32_t label = 0;
  };
  std::vector<Entry> entries;  // entries[id]
};
StatusOr<FolderListing> ListImageFolder(const std::string& root, double holdout);

}  // namespace hpcnas
