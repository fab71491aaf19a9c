#include "io/images/image_source.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "io/files.h"
#include "io/images/shards.h"

namespace hpcnas {
namespace {

namespace fs = std::filesystem;

// Sorted names of the regular, non-hidden files (or directories) in `dir`.
StatusOr<std::vector<std::string>> SortedNames(const fs::path& dir, bool directories) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (directories ? it->is_directory() : it->is_regular_file()) names.push_back(name);
  }
  if (ec) return Status::Io("cannot list " + dir.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

class FolderSource final : public ImageSource {
 public:
  FolderSource(std::string root, FolderListing listing, const std::string& split) : root_(std::move(root)) {
    classes_ = std::move(listing.classes);
    for (int64_t id = 0; id < static_cast<int64_t>(listing.entries.size()); ++id) {
      if (listing.entries[id].split != split) continue;
      ids_.push_back(id);
      paths_.push_back(std::move(listing.entries[id].path));
      labels_.push_back(listing.entries[id].label);
    }
  }
  int64_t size() const override { return static_cast<int64_t>(ids_.size()); }
  const std::vector<std::string>& classes() const override { return classes_; }
  int32_t Label(int64_t p) const override { return labels_[p]; }
  int64_t Id(int64_t p) const override { return ids_[p]; }
  StatusOr<std::string> ReadBytes(int64_t p) const override { return ReadWholeFile(root_ + "/" + paths_[p], "image"); }
  std::string Name(int64_t p) const override { return root_ + "/" + paths_[p]; }
  std::vector<std::pair<int64_t, int64_t>> Groups() const override {
    std::vector<std::pair<int64_t, int64_t>> groups(ids_.size());
    for (int64_t i = 0; i < size(); ++i) groups[i] = {i, i + 1};
    return groups;
  }

 private:
  std::string root_;
  std::vector<std::string> classes_;
  std::vector<int64_t> ids_;
  std::vector<std::string> paths_;
  std::vector<int32_t> labels_;
};

}  // namespace

StatusOr<FolderListing> ListImageFolder(const std::string& root, double holdout) {
  if (!(holdout >= 0.0 && holdout < 1.0)) {
    return Status::InvalidInput("holdout share must be in [0, 1), got " + std::to_string(holdout));
  }
  const fs::path train = fs::path(root) / "train";
  if (!fs::is_directory(train)) {
    return Status::InvalidInput("image folder " + root + " has no train/ directory (expected ROOT/train/<class>/*.JPEG)");
  }
  FolderListing listing;
  HPCNAS_ASSIGN_OR_RETURN(listing.classes, SortedNames(train, /*directories=*/true));
  if (listing.classes.empty()) return Status::InvalidInput("image folder " + train.string() + " has no class folders");
  const fs::path val = fs::path(root) / "val";
  const bool has_val = fs::is_directory(val);
  std::vector<FolderListing::Entry> val_entries;
  for (int32_t label = 0; label < static_cast<int32_t>(listing.classes.size()); ++label) {
    const std::string& wnid = listing.classes[label];
    HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> files, SortedNames(train / wnid, /*directories=*/false));
    if (files.empty()) return Status::InvalidInput("class folder " + (train / wnid).string() + " is empty");
    const size_t held_out = has_val ? 0 : static_cast<size_t>(std::ceil(holdout * files.size()));
    if (held_out >= files.size() && held_out > 0) {
      return Status::InvalidInput("holdout " + std::to_string(holdout) + " leaves no training image in " + (train / wnid).string());
    }
    for (size_t i = 0; i < files.size(); ++i) {
      FolderListing::Entry e{"train/" + wnid + "/" + files[i], i + held_out < files.size() ? "train" : "val", label};
      (e.split == "train" ? listing.entries : val_entries).push_back(std::move(e));
    }
  }
  if (has_val) {
    HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> val_classes, SortedNames(val, /*directories=*/true));
    for (const std::string& wnid : val_classes) {
      const auto it = std::find(listing.classes.begin(), listing.classes.end(), wnid);
      if (it == listing.classes.end()) {
        return Status::InvalidInput("validation folder " + (val / wnid).string() + " is not a class of " + train.string());
      }
      HPCNAS_ASSIGN_OR_RETURN(std::vector<std::string> files, SortedNames(val / wnid, /*directories=*/false));
      if (files.empty()) return Status::InvalidInput("class folder " + (val / wnid).string() + " is empty");
      for (const std::string& f : files) {
        val_entries.push_back({"val/" + wnid + "/" + f, "val", static_cast<int32_t>(it - listing.classes.begin())});
      }
    }
  }
  listing.entries.insert(listing.entries.end(), val_entries.begin(), val_entries.end());
  return listing;
}

StatusOr<std::unique_ptr<ImageSource>> OpenImageSource(const std::string& spec, const ImageSourceOptions& options) {
  if (options.split != "train" && options.split != "val") {
    return Status::InvalidInput("image split must be 'train' or 'val', got '" + options.split + "'");
  }
  const size_t colon = spec.find(':');
  const std::string kind = colon == std::string::npos ? "" : spec.substr(0, colon);
  const std::string dir = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if ((kind != "imagenet" && kind != "shards") || dir.empty()) {
    return Status::InvalidInput("image data '" + spec + "' must be imagenet:DIR (a folder per class) or shards:DIR (hpcnas pack output)");
  }
  std::unique_ptr<ImageSource> source;
  if (kind == "shards") {
    HPCNAS_ASSIGN_OR_RETURN(source, OpenShardSource(dir, options.split));
  } else {
    HPCNAS_ASSIGN_OR_RETURN(FolderListing listing, ListImageFolder(dir, options.holdout));
    source = std::make_unique<FolderSource>(dir, std::move(listing), options.split);
  }
  if (source->size() == 0) {
    return Status::InvalidInput("image data '" + spec + "' has no '" + options.split + "' images" +
                                (options.split == "val" ? " (no val/ folder, and the holdout share is 0)" : ""));
  }
  return source;
}

}  // namespace hpcnas
