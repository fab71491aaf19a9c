#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "io/cifar.h"
#include "io/embedded_data.h"
#include "io/files.h"
#include "io/hdf5_file.h"
#include "io/nb201_data.h"
#include "io/score_results.h"
#include "tests/unit/temp_dir.h"

namespace hpcnas {
namespace {

bool FileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

void ExpectError(const Status& s, const std::string& fragment) {
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(Cifar, EmbeddedBatchIsTheEpsinasReferenceBatch) {
  EXPECT_EQ(embedded::CifarEpsilonBatch().size(), 256u * 3073u);
  auto images = LoadCifarImages("embedded", 256);
  ASSERT_TRUE(images.ok()) << images.status().message();
  EXPECT_EQ(images->count, 256);
  for (auto label : images->labels) EXPECT_LE(label, 9);
}

TEST(Cifar, SharedTrainingPrefixStartsWithTheKnownLabels) {
  auto images = LoadCifarImages(std::string(HPCNAS_SHARED_DATA_DIR) + "/cifar10/train_batches_prefix.bin", 10);
  if (!images.ok()) GTEST_SKIP() << "needs ../shared/data/cifar10: " << images.status().message();
  // data/README.md: the first data_batch_1 labels are 6 9 9 4 1 1 2 7 8 3.
  EXPECT_EQ(images->labels, (std::vector<std::uint8_t>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3}));
}

TEST(Cifar, BadFilesAreClearErrors) {
  std::string one_record(3073, '\x01');
  ExpectError(ParseCifarBinary("", 1, "f.bin").status(), "'f.bin' is empty");
  ExpectError(ParseCifarBinary(one_record + "xyz", 1, "f.bin").status(), "truncated or not in CIFAR-10 binary format");
  ExpectError(ParseCifarBinary(one_record, 2, "f.bin").status(), "holds 1 images, but the batch needs 2");
  std::string bad_label = one_record;
  bad_label[0] = 42;
  ExpectError(ParseCifarBinary(bad_label, 1, "f.bin").status(), "record 0 has label 42");
  ExpectError(LoadCifarImages("/nonexistent/cifar.bin", 1).status(), "cannot open CIFAR file '/nonexistent/cifar.bin'");
  auto ok = ParseCifarBinary(one_record + one_record, 1, "f.bin");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->pixels.size(), 3072u);
}

TEST(Files, FifosDevicesAndDirectoriesAreBadInputNotHangs) {
  TempDir dir;
  const std::string fifo = dir / "pipe";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Nothing writes to the FIFO: opening it would block forever.
  for (const auto& [path, fragment] : std::vector<std::pair<std::string, std::string>>{
           {fifo, "is not a regular file"}, {"/dev/zero", "is not a regular file"}, {dir.path(), "is a directory"},
           {dir / "absent.bin", "cannot open CIFAR file"}}) {
    const Status s = LoadCifarImages(path, 4).status();
    ExpectError(s, fragment);
    EXPECT_EQ(s.ExitCode(), 2) << path;
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  }
  // Only the records the batch needs are read from a large file.
  {
    std::ofstream big(dir / "big.bin", std::ios::binary);
    const std::string record(3073, '\x02');
    for (int i = 0; i < 40; ++i) big << record;
  }
  auto four = LoadCifarImages(dir / "big.bin", 4);
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(four->count, 4);
  auto prefix = ReadWholeFile(dir / "big.bin", "file", 10);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->size(), 10u);
  // An output path that is a directory is refused before any work, as bad input.
  const Status out = CheckWritable(dir.path());
  ExpectError(out, "is a directory");
  EXPECT_EQ(out.ExitCode(), 2);
}

const char* kTruthHeader = "index,arch,cifar10_test\n";
const char* kRow1 = "1,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,93.66\n";

TEST(Nb201Truth, EmbeddedTableHasEveryCellAndTheKnownOptimum) {
  auto truth = LoadNb201Truth("embedded", "cifar10_test");
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  double best = 0;
  int best_index = -1;
  for (int code = 0; code < nb201::kNumCells; ++code) {
    ASSERT_TRUE(truth->present_by_code[code]);
    if (truth->accuracy_by_code[code] > best) {
      best = truth->accuracy_by_code[code];
      best_index = nb201::OfficialIndex(nb201::Genotype::FromCode(code));
    }
  }
  EXPECT_NEAR(best, 94.373, 1e-3);  // data/README.md
  EXPECT_EQ(best_index, 6111);
}

TEST(Nb201Truth, MalformedTablesAreClearErrors) {
  ExpectError(ParseNb201Truth("", "cifar10_test", "t.csv").status(), "'t.csv' is empty");
  ExpectError(ParseNb201Truth("index,arch\n", "cifar10_test", "t.csv").status(), "no 'cifar10_test' column");
  ExpectError(ParseNb201Truth("index,cifar10_test\n", "cifar10_test", "t.csv").status(), "no 'arch' column");
  ExpectError(ParseNb201Truth(std::string(kTruthHeader), "cifar10_test", "t.csv").status(), "no rows");
  ExpectError(ParseNb201Truth(std::string(kTruthHeader) + kRow1 + kRow1, "cifar10_test", "t.csv").status(),
              "line 3: duplicate architecture");
  ExpectError(ParseNb201Truth(std::string(kTruthHeader) + "2" + (kRow1 + 1), "cifar10_test", "t.csv").status(),
              "does not match the official NB201 index 1");
  ExpectError(ParseNb201Truth(std::string(kTruthHeader) + "1,|bad~0|,1\n", "cifar10_test", "t.csv").status(),
              "line 2: invalid NB201 genotype");
  ExpectError(ParseNb201Truth(std::string(kTruthHeader) + "1,x\n", "cifar10_test", "t.csv").status(), "has 2 fields");
}

TEST(Nb201Truth, LookupNamesMissingArchitectures) {
  auto truth = ParseNb201Truth(std::string(kTruthHeader) + kRow1, "cifar10_test", "t.csv");
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  auto present = truth->Lookup({*nb201::FromOfficialIndex(1)});
  ASSERT_TRUE(present.ok());
  EXPECT_DOUBLE_EQ((*present)[0], 93.66);
  ExpectError(truth->Lookup({*nb201::FromOfficialIndex(0)}).status(), "has no row for |avg_pool_3x3~0|");
}

TEST(ArchList, ParsesCommentsAndRejectsBadLinesAndDuplicates) {
  auto archs = ParseArchList("# header\n\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n", "a.txt");
  ASSERT_TRUE(archs.ok());
  EXPECT_EQ(archs->size(), 1u);
  ExpectError(ParseArchList("\n# nothing\n", "a.txt").status(), "lists no architectures");
  ExpectError(ParseArchList("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n|none~0|+|none~0|none~9|\n", "a.txt").status(),
              "'a.txt' line 2: invalid NB201 genotype");
  ExpectError(ParseArchList("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n", "a.txt").status(),
              "listed twice (first on line 1)");
  ExpectError(LoadArchList("/nonexistent/archs.txt").status(), "cannot open architecture file");
}

TEST(Hdf5, DatasetsAndAttributesRoundTrip) {
  TempDir dir;
  {
    auto file = h5::File::Create(dir / "x.h5");
    ASSERT_TRUE(file.ok()) << file.status().message();
    ASSERT_TRUE(file->Write("/d", std::vector<double>{1.5, std::nan(""), -2}).ok());
    ASSERT_TRUE(file->Write("/s", std::vector<std::string>{"a", "", "|none~0|"}).ok());
    ASSERT_TRUE(file->CreateGroup("/g").ok());
    ASSERT_TRUE(file->Write("/g/m", std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).ok());
    ASSERT_TRUE(file->Write("/g/i", std::vector<int64_t>{-7}).ok());
    ASSERT_TRUE(file->SetAttribute("/", "text", std::string("hello")).ok());
    ASSERT_TRUE(file->SetAttribute("/g", "number", 2.5).ok());
    ASSERT_TRUE(file->SetAttribute("/g", "count", int64_t{9}).ok());
    ASSERT_TRUE(file->Close().ok());
  }
  auto file = h5::File::OpenReadOnly(dir / "x.h5");
  ASSERT_TRUE(file.ok());
  auto d = file->ReadDoubles("/d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[0], 1.5);
  EXPECT_TRUE(std::isnan((*d)[1]));
  EXPECT_EQ(*file->ReadStrings("/s"), (std::vector<std::string>{"a", "", "|none~0|"}));
  EXPECT_EQ(file->ReadFloats("/g/m")->size(), 6u);
  EXPECT_EQ((*file->ReadInt64s("/g/i"))[0], -7);
  EXPECT_EQ(*file->ReadStringAttribute("/", "text"), "hello");
  EXPECT_EQ(*file->ReadDoubleAttribute("/g", "number"), 2.5);
  EXPECT_EQ(*file->ReadInt64Attribute("/g", "count"), 9);
  EXPECT_TRUE(file->Exists("/g/m"));
  EXPECT_FALSE(file->Exists("/nope/m"));
  ExpectError(file->ReadDoubles("/missing").status(), "has no dataset '/missing'");
  ExpectError(file->ReadStringAttribute("/", "absent").status(), "no readable string attribute 'absent'");
}

TEST(Hdf5, TruncatedAndForeignFilesAreClearErrors) {
  TempDir dir;
  {
    auto file = h5::File::Create(dir / "x.h5");
    ASSERT_TRUE(file->Write("/d", std::vector<double>(10000, 1.0)).ok());
    ASSERT_TRUE(file->Close().ok());
  }
  ASSERT_EQ(truncate((dir / "x.h5").c_str(), 1000), 0);
  auto opened = h5::File::OpenReadOnly(dir / "x.h5");
  if (opened.ok()) {
    EXPECT_FALSE(opened->ReadDoubles("/d").ok());
  } else {
    EXPECT_NE(opened.status().message().find("x.h5"), std::string::npos);
  }
  std::ofstream(dir / "text.h5") << "not hdf5";
  ExpectError(h5::File::OpenReadOnly(dir / "text.h5").status(), "not an HDF5 file");
  ExpectError(h5::File::OpenReadOnly(dir / "absent.h5").status(), "missing, truncated or not an HDF5 file");
}

ScoreResults SmallResults() {
  ScoreResults r;
  for (int index : {1, 6111}) {
    r.archs.push_back(nb201::FromOfficialIndex(index)->ToString());
    r.index.push_back(index);
  }
  r.epsilon = {0.25, std::nan("")};
  r.seconds = {1, 2};
  r.accuracy = {93.66, 94.373};
  r.accuracy_column = "cifar10_test";
  r.text_attributes["config"] = "command = 'score'";
  return r;
}

TEST(ScoreResults, WritesBothFilesAndNoTemporaries) {
  TempDir dir;
  ASSERT_TRUE(WriteScoreResults(dir / "s.h5", dir / "s.csv", SmallResults()).ok());
  EXPECT_TRUE(FileExists(dir / "s.h5"));
  EXPECT_TRUE(FileExists(dir / "s.csv"));
  EXPECT_FALSE(FileExists(dir / "s.h5.tmp"));
  EXPECT_FALSE(FileExists(dir / "s.csv.tmp"));
  auto file = h5::File::OpenReadOnly(dir / "s.h5");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file->ReadInt64Attribute("/", "schema_version"), kScoreFileSchemaVersion);
  EXPECT_EQ(*file->ReadInt64s("/index"), (std::vector<int64_t>{1, 6111}));
  std::ifstream csv(dir / "s.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "index,arch,epsilon,accuracy,seconds");
}

TEST(ScoreResults, AFailedWriteLeavesNothingBehind) {
  TempDir dir;
  ASSERT_EQ(mkdir((dir / "csvdir").c_str(), 0755), 0);
  // The CSV path is a directory: the HDF5 file is complete but must not appear alone.
  Status s = WriteScoreResults(dir / "s.h5", dir / "csvdir", SmallResults());
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(FileExists(dir / "s.h5"));
  EXPECT_FALSE(FileExists(dir / "s.h5.tmp"));
  EXPECT_FALSE(FileExists(dir / "csvdir.tmp"));
  ExpectError(CheckWritable("/nonexistent-dir/out.h5"), "cannot write output '/nonexistent-dir/out.h5'");
  EXPECT_TRUE(CheckWritable(dir / "fine.h5").ok());
  EXPECT_FALSE(FileExists(dir / "fine.h5.tmp"));
}

TEST(Files, ReplaceExtension) {
  EXPECT_EQ(ReplaceExtension("a/b.c/scores.h5", ".csv"), "a/b.c/scores.csv");
  EXPECT_EQ(ReplaceExtension("a.d/scores", ".csv"), "a.d/scores.csv");
}

}  // namespace
}  // namespace hpcnas
