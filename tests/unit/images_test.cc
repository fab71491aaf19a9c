// The ImageNet data path: decoding against djpeg, packing into shards and reading them back,
// augmentation that does not depend on threads or ranks, and every kind of bad input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "io/files.h"
#include "io/images/image_source.h"
#include "io/images/jpeg.h"
#include "io/images/loader.h"
#include "io/images/shards.h"
#include "io/images/transforms.h"
#include "tests/unit/temp_dir.h"

namespace hpcnas {
namespace {

namespace fs = std::filesystem;

const std::string kMini = std::string(HPCNAS_SOURCE_DIR) + "/data/tiny_imagenet_mini";
const std::string kFullSample = std::string(HPCNAS_SHARED_DATA_DIR) + "/tiny_imagenet_sample";

std::vector<std::string> JpegsUnder(const std::string& root) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().extension() == ".JPEG") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// djpeg's pixels (binary PPM, maxval 255).
RgbImage Djpeg(const std::string& path, const std::string& scale, const TempDir& tmp) {
  const std::string out = tmp / "djpeg.ppm";
  // -rgb: grayscale JPEGs too come out as RGB (P6), as DecodeJpeg gives them.
  const std::string command = "djpeg -rgb -ppm " + (scale.empty() ? "" : "-scale " + scale + " ") + "'" + path + "' > '" + out + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(out, std::ios::binary);
  std::string magic;
  int maxval = 0;
  RgbImage image;
  in >> magic >> image.width >> image.height >> maxval;
  in.get();
  EXPECT_EQ(magic, "P6");
  EXPECT_EQ(maxval, 255);
  image.rgb.resize(static_cast<size_t>(image.width) * image.height * 3);
  in.read(reinterpret_cast<char*>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
  return image;
}

bool HaveDjpeg() { return std::system("command -v djpeg > /dev/null 2>&1") == 0; }

void ExpectDecodesAsDjpeg(const std::vector<std::string>& files) {
  TempDir tmp;
  int64_t compared = 0;
  for (const std::string& path : files) {
    auto bytes = ReadWholeFile(path, "jpeg");
    ASSERT_TRUE(bytes.ok());
    auto ours = DecodeJpeg(*bytes, path);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    const RgbImage reference = Djpeg(path, "", tmp);
    ASSERT_EQ(ours->width, reference.width) << path;
    ASSERT_EQ(ours->height, reference.height) << path;
    ASSERT_TRUE(ours->rgb == reference.rgb) << path << " decodes to other pixels than djpeg's";
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int64_t>(files.size()));
}

TEST(Jpeg, BundledImagesDecodeExactlyAsDjpeg) {
  if (!HaveDjpeg()) GTEST_SKIP() << "djpeg (libjpeg-turbo-progs) is not installed";
  const auto files = JpegsUnder(kMini);
  ASSERT_EQ(files.size(), 80u);
  ExpectDecodesAsDjpeg(files);
}

TEST(Jpeg, AllTinyImagenetSampleImagesDecodeExactlyAsDjpeg) {
  // Needs the full data: the 1,500 JPEGs of ../shared/data/tiny_imagenet_sample.
  if (!HaveDjpeg()) GTEST_SKIP() << "djpeg (libjpeg-turbo-progs) is not installed";
  if (!fs::is_directory(kFullSample)) GTEST_SKIP() << kFullSample << " is not here";
  const auto files = JpegsUnder(kFullSample);
  ASSERT_EQ(files.size(), 1500u);
  ExpectDecodesAsDjpeg(files);
}

TEST(Jpeg, ScaledDecodeIsDjpegScaled) {
  if (!HaveDjpeg()) GTEST_SKIP() << "djpeg (libjpeg-turbo-progs) is not installed";
  TempDir tmp;
  const std::string path = JpegsUnder(kMini).front();
  auto bytes = ReadWholeFile(path, "jpeg");
  ASSERT_TRUE(bytes.ok());
  auto half = DecodeJpeg(*bytes, path, JpegScale{1, 2});
  ASSERT_TRUE(half.ok());
  const RgbImage reference = Djpeg(path, "1/2", tmp);
  EXPECT_EQ(half->width, 32);
  EXPECT_EQ(half->width, reference.width);
  EXPECT_TRUE(half->rgb == reference.rgb);
  const JpegScale chosen = ChooseJpegScale(500, 400, 224, 224);  // 1/2 gives 250 x 200: too small
  EXPECT_GE(chosen.Apply(400), 224);
  EXPECT_LT(chosen.num * 8, chosen.denom * 8 + 1);
  EXPECT_EQ(ChooseJpegScale(2000, 2000, 224, 224).Apply(2000), 250);  // 1/8
}

TEST(Jpeg, NotAJpegAndTruncatedAreErrorsNamingTheImage) {
  auto not_jpeg = DecodeJpeg("hello, not an image", "notes.jpg in shard s.tar");
  ASSERT_FALSE(not_jpeg.ok());
  EXPECT_NE(not_jpeg.status().message().find("notes.jpg in shard s.tar"), std::string::npos);
  auto bytes = ReadWholeFile(JpegsUnder(kMini).front(), "jpeg");
  ASSERT_TRUE(bytes.ok());
  auto truncated = DecodeJpeg(bytes->substr(0, bytes->size() / 2), "half.jpg");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("half.jpg"), std::string::npos);
  EXPECT_EQ(truncated.status().kind(), ErrorKind::kInvalidInput);
}

TEST(Transforms, RandomResizedCropStaysInsideAndCoversTheScaleRange) {
  TransformOptions options;
  double min_share = 1, max_share = 0;
  int flips = 0;
  for (std::uint64_t id = 0; id < 2000; ++id) {
    bool flip = false;
    const CropBox box = DrawRandomResizedCrop(500, 375, options, 7, 0, id, &flip);
    ASSERT_GE(box.x, 0);
    ASSERT_GE(box.y, 0);
    ASSERT_LE(box.x + box.width, 500);
    ASSERT_LE(box.y + box.height, 375);
    const double share = static_cast<double>(box.width) * box.height / (500.0 * 375.0);
    min_share = std::min(min_share, share);
    max_share = std::max(max_share, share);
    flips += flip;
  }
  EXPECT_LT(min_share, 0.1);
  EXPECT_GT(max_share, 0.9);
  EXPECT_NEAR(flips / 2000.0, 0.5, 0.05);
  bool flip_a = false, flip_b = false;
  const CropBox a = DrawRandomResizedCrop(500, 375, options, 7, 3, 11, &flip_a);
  const CropBox b = DrawRandomResizedCrop(500, 375, options, 7, 3, 11, &flip_b);
  EXPECT_TRUE(a.x == b.x && a.y == b.y && a.width == b.width && a.height == b.height && flip_a == flip_b);
  const CropBox centre = CentreCropBox(500, 375, 224);  // shorter side 375 -> 256, crop 224 of it
  EXPECT_NEAR(centre.height, 375.0 * 224 / 256, 1.0);
  EXPECT_NEAR(centre.x + centre.width / 2.0, 250, 1.0);
}

TEST(Transforms, AConstantImageStaysConstantAndNormalises) {
  // A JPEG of one flat colour: every output pixel keeps it (the filter weights sum to 1).
  auto bytes = ReadWholeFile(JpegsUnder(kMini).front(), "jpeg");
  ASSERT_TRUE(bytes.ok());
  std::vector<std::uint8_t> chw(3 * 24 * 24);
  TransformOptions options;
  options.resolution = 24;
  ASSERT_TRUE(TransformJpeg(*bytes, "x", options, 1, 0, 5, chw.data()).ok());
  std::vector<float> normalised(chw.size());
  NormalizeImagenet(chw.data(), 24, normalised.data());
  EXPECT_FLOAT_EQ(normalised[0], (chw[0] / 255.0f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(normalised[24 * 24 * 2 + 7], (chw[24 * 24 * 2 + 7] / 255.0f - 0.406f) / 0.225f);
}

TEST(EpochOrder, IsAPermutationThatDependsOnSeedAndEpoch) {
  std::vector<std::pair<int64_t, int64_t>> groups = {{0, 40}, {40, 90}, {90, 100}};
  const auto a = EpochOrder(groups, 1, 0, 16);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_EQ(a, EpochOrder(groups, 1, 0, 16));
  EXPECT_NE(a, EpochOrder(groups, 1, 1, 16));
  EXPECT_NE(a, EpochOrder(groups, 2, 0, 16));
  // Without the buffer, whole groups stay together.
  const auto unshuffled = EpochOrder(groups, 1, 0, 0);
  EXPECT_EQ(unshuffled.size(), 100u);
  EXPECT_TRUE(unshuffled.front() == 0 || unshuffled.front() == 40 || unshuffled.front() == 90);
}

StatusOr<std::unique_ptr<ImageSource>> Open(const std::string& spec, const std::string& split = "train") {
  ImageSourceOptions options;
  options.split = split;
  return OpenImageSource(spec, options);
}

PackReport PackOrDie(const std::string& from, const std::string& out, int64_t shard_bytes, bool skip = false) {
  PackOptions options;
  options.from = from;
  options.out = out;
  options.shard_bytes = shard_bytes;
  options.seed = 3;
  options.skip_corrupt = skip;
  auto report = PackImageFolder(options, [](const std::string&) {});
  EXPECT_TRUE(report.ok()) << report.status().message();
  return report.ok() ? *report : PackReport{};
}

TEST(Folder, ListsClassesInSortedOrderWithValFolder) {
  auto train = Open("imagenet:" + kMini);
  ASSERT_TRUE(train.ok()) << train.status().message();
  EXPECT_EQ((*train)->size(), 60);
  ASSERT_EQ((*train)->classes().size(), 10u);
  EXPECT_EQ((*train)->classes().front(), "n01443537");
  EXPECT_TRUE(std::is_sorted((*train)->classes().begin(), (*train)->classes().end()));
  auto val = Open("imagenet:" + kMini, "val");
  ASSERT_TRUE(val.ok());
  EXPECT_EQ((*val)->size(), 20);
  EXPECT_EQ((*val)->Id(0), 60);  // ids continue after train
  EXPECT_NE((*val)->Name(0).find("val/n01443537/"), std::string::npos);
}

TEST(Shards, PackedCopyReadsBackTheSameImagesLabelsAndIds) {
  TempDir tmp;
  const PackReport report = PackOrDie(kMini, tmp / "shards", 32 << 10);
  EXPECT_EQ(report.samples, 80);
  EXPECT_GE(report.shards_written, 4);  // ~160 KB in 32 KB shards
  for (const std::string split : {"train", "val"}) {
    auto folder = Open("imagenet:" + kMini, split);
    auto shards = Open("shards:" + tmp / "shards", split);
    ASSERT_TRUE(folder.ok() && shards.ok()) << shards.status().message();
    ASSERT_EQ((*shards)->size(), (*folder)->size());
    EXPECT_EQ((*shards)->classes(), (*folder)->classes());
    EXPECT_GT((*shards)->Groups().size(), 1u);
    std::set<int64_t> seen;
    for (int64_t p = 0; p < (*shards)->size(); ++p) {
      const int64_t id = (*shards)->Id(p);
      // The folder source's position of an id: train ids first, then val ids.
      const int64_t folder_position = split == std::string("train") ? id : id - 60;
      ASSERT_EQ((*folder)->Id(folder_position), id);
      EXPECT_EQ((*shards)->Label(p), (*folder)->Label(folder_position));
      auto a = (*shards)->ReadBytes(p);
      auto b = (*folder)->ReadBytes(folder_position);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_TRUE(*a == *b) << (*shards)->Name(p);
      seen.insert(id);
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), (*folder)->size());
  }
}

TEST(Shards, ResumedPackWritesTheSameBytesAsAnUninterruptedOne) {
  TempDir tmp;
  PackOrDie(kMini, tmp / "whole", 32 << 10);
  PackOrDie(kMini, tmp / "resumed", 32 << 10);
  // Interrupt: the last train shard and the index are gone, a half-written temp file is left.
  std::vector<std::string> train_shards;
  for (const auto& e : fs::directory_iterator(tmp / "resumed")) {
    if (e.path().filename().string().rfind("train-", 0) == 0) train_shards.push_back(e.path().string());
  }
  std::sort(train_shards.begin(), train_shards.end());
  ASSERT_GE(train_shards.size(), 2u);
  fs::rename(train_shards.back(), train_shards.back() + ".tmp");
  fs::resize_file(train_shards.back() + ".tmp", 1000);
  fs::remove(tmp / "resumed/index.h5");
  int64_t total_shards = 0;
  for (const auto& e : fs::directory_iterator(tmp / "whole")) total_shards += e.path().extension() == ".tar";
  const PackReport report = PackOrDie(kMini, tmp / "resumed", 32 << 10);
  EXPECT_EQ(report.shards_written, 1);
  EXPECT_EQ(report.shards_kept, total_shards - 1);
  EXPECT_EQ(report.samples, 80);
  EXPECT_FALSE(fs::exists(train_shards.back() + ".tmp"));
  for (const auto& e : fs::directory_iterator(tmp / "whole")) {
    if (e.path().extension() != ".tar") continue;
    auto a = ReadWholeFile(e.path().string(), "shard");
    auto b = ReadWholeFile(tmp / "resumed/" + e.path().filename().string(), "shard");
    ASSERT_TRUE(a.ok() && b.ok()) << e.path();
    EXPECT_TRUE(*a == *b) << e.path().filename();
  }
  EXPECT_TRUE(Open("shards:" + tmp / "resumed").ok());
  // A shard of another pack in the way is an error, not a silent mix.
  fs::copy_file(tmp / "whole/val-000000.tar", tmp / "resumed/train-000000.tar", fs::copy_options::overwrite_existing);
  fs::remove(tmp / "resumed/index.h5");
  PackOptions options;
  options.from = kMini;
  options.out = tmp / "resumed";
  options.shard_bytes = 32 << 10;
  options.seed = 3;
  auto mixed = PackImageFolder(options, [](const std::string&) {});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("train-000000.tar"), std::string::npos);
}

LoaderOptions SmallLoader(int threads, int rank = 0, int ranks = 1) {
  LoaderOptions options;
  options.transform.resolution = 40;
  options.seed = 11;
  options.global_batch = 8;
  options.threads = threads;
  options.rank = rank;
  options.ranks = ranks;
  options.shuffle_buffer = 16;
  return options;
}

std::vector<ImageBatch> Epoch(const ImageSource& source, const LoaderOptions& options, int64_t epoch, int64_t first = 0) {
  auto loader = ImageLoader::Create(source, options);
  EXPECT_TRUE(loader.ok()) << loader.status().message();
  std::vector<ImageBatch> batches;
  (*loader)->Start(epoch, first);
  while ((*loader)->HasNext()) {
    auto batch = (*loader)->Next();
    EXPECT_TRUE(batch.ok()) << batch.status().message();
    if (!batch.ok()) break;
    batches.push_back(std::move(*batch));
  }
  return batches;
}

TEST(Loader, BatchesAreTheSameOnOneAndFourThreadsAndFromFolderOrShards) {
  TempDir tmp;
  PackOrDie(kMini, tmp / "shards", 32 << 10);
  auto folder = Open("imagenet:" + kMini);
  ASSERT_TRUE(folder.ok());
  const auto one = Epoch(**folder, SmallLoader(1), 2);
  const auto four = Epoch(**folder, SmallLoader(4), 2);
  ASSERT_EQ(one.size(), 7u);  // 60 images / 8, the last partial batch dropped
  ASSERT_EQ(four.size(), one.size());
  for (size_t b = 0; b < one.size(); ++b) {
    EXPECT_EQ(one[b].ids, four[b].ids);
    EXPECT_EQ(one[b].labels, four[b].labels);
    EXPECT_TRUE(one[b].pixels == four[b].pixels) << "batch " << b;
    EXPECT_EQ(one[b].pixels.size(), 8u * 3 * 40 * 40);
  }
  // Per sample, the shard copy gives the same crop and flip of the same image.
  auto shards = Open("shards:" + tmp / "shards");
  ASSERT_TRUE(shards.ok());
  const auto from_shards = Epoch(**shards, SmallLoader(2), 2);
  std::map<int64_t, std::vector<float>> by_id;
  const size_t image = 3 * 40 * 40;
  for (const ImageBatch& batch : one) {
    for (size_t i = 0; i < batch.ids.size(); ++i) {
      by_id[batch.ids[i]] = std::vector<float>(batch.pixels.begin() + i * image, batch.pixels.begin() + (i + 1) * image);
    }
  }
  int64_t matched = 0;
  for (const ImageBatch& batch : from_shards) {
    for (size_t i = 0; i < batch.ids.size(); ++i) {
      if (!by_id.count(batch.ids[i])) continue;
      EXPECT_TRUE(by_id[batch.ids[i]] ==
                  std::vector<float>(batch.pixels.begin() + i * image, batch.pixels.begin() + (i + 1) * image));
      ++matched;
    }
  }
  EXPECT_GT(matched, 20);
}

TEST(Loader, TwoRanksTogetherSeeExactlyTheOneRankBatches) {
  auto folder = Open("imagenet:" + kMini);
  ASSERT_TRUE(folder.ok());
  const auto whole = Epoch(**folder, SmallLoader(2), 1);
  const auto rank0 = Epoch(**folder, SmallLoader(1, 0, 2), 1);
  const auto rank1 = Epoch(**folder, SmallLoader(3, 1, 2), 1);
  ASSERT_EQ(rank0.size(), whole.size());
  ASSERT_EQ(rank1.size(), whole.size());
  for (size_t b = 0; b < whole.size(); ++b) {
    std::vector<int64_t> ids = rank0[b].ids;
    ids.insert(ids.end(), rank1[b].ids.begin(), rank1[b].ids.end());
    EXPECT_EQ(ids, whole[b].ids);
    std::vector<float> pixels = rank0[b].pixels;
    pixels.insert(pixels.end(), rank1[b].pixels.begin(), rank1[b].pixels.end());
    EXPECT_TRUE(pixels == whole[b].pixels);
  }
  // Three ranks (8 does not divide by 3): the same number of batches on each.
  for (int r = 0; r < 3; ++r) EXPECT_EQ(Epoch(**folder, SmallLoader(1, r, 3), 1).size(), whole.size());
}

TEST(Loader, AResumedEpochContinuesWithTheSameBatches) {
  auto folder = Open("imagenet:" + kMini);
  ASSERT_TRUE(folder.ok());
  const auto whole = Epoch(**folder, SmallLoader(2), 4);
  const auto resumed = Epoch(**folder, SmallLoader(2), 4, 3);
  ASSERT_EQ(resumed.size(), whole.size() - 3);
  for (size_t b = 0; b < resumed.size(); ++b) {
    EXPECT_EQ(resumed[b].index, whole[b + 3].index);
    EXPECT_EQ(resumed[b].ids, whole[b + 3].ids);
    EXPECT_TRUE(resumed[b].pixels == whole[b + 3].pixels);
  }
}

// A copy of the mini set with one file replaced by `content`.
std::string DamagedCopy(const TempDir& tmp, const std::string& content) {
  const std::string root = tmp / "damaged";
  fs::copy(kMini, root, fs::copy_options::recursive);
  std::ofstream(root + "/train/n01443537/n01443537_0.JPEG", std::ios::binary | std::ios::trunc) << content;
  return root;
}

TEST(BadInput, CorruptJpegIsAnErrorNamingItOrASkipWhenAllowed) {
  TempDir tmp;
  auto good = ReadWholeFile(kMini + "/train/n01443537/n01443537_0.JPEG", "jpeg");
  ASSERT_TRUE(good.ok());
  const std::string root = DamagedCopy(tmp, good->substr(0, good->size() / 3));
  auto source = Open("imagenet:" + root);
  ASSERT_TRUE(source.ok());
  auto loader = ImageLoader::Create(**source, SmallLoader(2));
  ASSERT_TRUE(loader.ok());
  Status failure;
  (*loader)->Start(0);
  while ((*loader)->HasNext() && failure.ok()) failure = (*loader)->Next().status();
  ASSERT_FALSE(failure.ok());
  EXPECT_NE(failure.message().find("n01443537_0.JPEG"), std::string::npos) << failure.message();
  LoaderOptions skipping = SmallLoader(2);
  skipping.skip_corrupt = true;
  int64_t skipped = 0, images = 0;
  for (const ImageBatch& b : Epoch(**source, skipping, 0)) {
    skipped += b.skipped;
    images += b.count;
  }
  EXPECT_EQ(skipped + images, 56);
  EXPECT_LE(skipped, 1);
  // Packing refuses it, naming the file, or leaves it out and counts it.
  PackOptions options;
  options.from = root;
  options.out = tmp / "shards";
  options.shard_bytes = 32 << 10;
  options.seed = 3;  // as PackOrDie below, which then keeps the shards this run finished
  auto refused = PackImageFolder(options, [](const std::string&) {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("n01443537_0.JPEG"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "shards/index.h5"));
  const PackReport report = PackOrDie(root, tmp / "shards", 32 << 10, /*skip=*/true);
  EXPECT_EQ(report.skipped, 1);
  EXPECT_EQ(report.samples, 79);
}

TEST(BadInput, NonJpegFileEmptyClassFolderAndMissingTrain) {
  TempDir tmp;
  const std::string root = DamagedCopy(tmp, "PNG? no, plain text");
  PackOptions options;
  options.from = root;
  options.out = tmp / "shards";
  auto refused = PackImageFolder(options, [](const std::string&) {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not a JPEG"), std::string::npos) << refused.status().message();
  fs::create_directories(root + "/train/n99999999");
  auto empty = Open("imagenet:" + root);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("n99999999"), std::string::npos);
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
  auto missing = Open("imagenet:" + tmp / "nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("train/"), std::string::npos);
  auto bad_spec = Open("folder:" + root);
  ASSERT_FALSE(bad_spec.ok());
  EXPECT_NE(bad_spec.status().message().find("imagenet:DIR"), std::string::npos);
}

TEST(BadInput, DamagedShardMissingIndexAndTruncatedShard) {
  TempDir tmp;
  PackOrDie(kMini, tmp / "shards", 32 << 10);
  // One flipped byte inside a JPEG: the member's checksum catches it, naming member and shard.
  auto source = Open("shards:" + tmp / "shards");
  ASSERT_TRUE(source.ok());
  const std::string shard = tmp / "shards/train-000000.tar";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(512 + 700);
    char c = 0;
    f.seekg(512 + 700);
    f.get(c);
    f.seekp(512 + 700);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  auto damaged = Open("shards:" + tmp / "shards");
  ASSERT_TRUE(damaged.ok());
  auto read = (*damaged)->ReadBytes(0);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("checksum mismatch"), std::string::npos);
  EXPECT_NE(read.status().message().find("train-000000.tar"), std::string::npos);
  // A cut-short shard is found when the source opens.
  fs::resize_file(shard, fs::file_size(shard) - 512);
  auto truncated = Open("shards:" + tmp / "shards");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("train-000000.tar"), std::string::npos);
  fs::remove(tmp / "shards/index.h5");
  auto no_index = Open("shards:" + tmp / "shards");
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.status().message().find("index.h5"), std::string::npos);
}

}  // namespace
}  // namespace hpcnas
