#include "io/score_results.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/files.h"
#include "io/hdf5_file.h"

namespace hpcnas {
namespace {

Status WriteSummary(h5::File& file, const std::string& group, const RankingSummary& s) {
  HPCNAS_RETURN_IF_ERROR(file.CreateGroup(group));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "num_total", s.num_total));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "num_nan", s.num_nan));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "num_ranked", s.num_ranked));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "spearman", s.spearman));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "kendall", s.kendall));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "spearman_top10", s.spearman_top10));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute(group, "kendall_top10", s.kendall_top10));
  return file.SetAttribute(group, "top10_overlap", s.top10_overlap);
}

Status WriteHdf5(const std::string& path, const ScoreResults& r) {
  HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(path));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "schema_version", kScoreFileSchemaVersion));
  HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string("hpcnas.scores")));
  for (const auto& [name, value] : r.text_attributes) HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", name, value));
  for (const auto& [name, value] : r.number_attributes) HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", name, value));
  for (const auto& [name, value] : r.integer_attributes) HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", name, value));
  HPCNAS_RETURN_IF_ERROR(file.SetProvenance(r.provenance));
  HPCNAS_RETURN_IF_ERROR(file.Write("/arch", r.archs));
  if (!r.index.empty()) HPCNAS_RETURN_IF_ERROR(file.Write("/index", r.index));
  if (!r.canonical_archs.empty()) HPCNAS_RETURN_IF_ERROR(file.Write("/canonical_arch", r.canonical_archs));
  HPCNAS_RETURN_IF_ERROR(file.Write("/epsilon", r.epsilon));
  if (!r.cell_functions.empty()) HPCNAS_RETURN_IF_ERROR(file.Write("/cell_function", r.cell_functions));
  HPCNAS_RETURN_IF_ERROR(file.Write("/seconds", r.seconds));
  if (!r.accuracy.empty()) {
    HPCNAS_RETURN_IF_ERROR(file.Write("/accuracy", r.accuracy));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/accuracy", "column", r.accuracy_column));
  }
  for (const auto& [name, column] : r.extra_columns) HPCNAS_RETURN_IF_ERROR(file.Write("/" + name, column));
  if (r.summary) HPCNAS_RETURN_IF_ERROR(WriteSummary(file, "/summary", *r.summary));
  for (const auto& [name, summary] : r.extra_summaries) {
    HPCNAS_RETURN_IF_ERROR(WriteSummary(file, "/summary_" + name, summary));
  }
  return file.Close();
}

Status WriteCsv(const std::string& path, const ScoreResults& r) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return Status::Io("cannot write CSV '" + path + "': " + std::strerror(errno));
  const bool with_accuracy = !r.accuracy.empty();
  const bool with_index = !r.index.empty();
  const bool with_canonical = !r.canonical_archs.empty();
  std::fprintf(out, "%sarch%s,epsilon%s", with_index ? "index," : "", with_canonical ? ",canonical_arch" : "",
               with_accuracy ? ",accuracy" : "");
  for (const auto& column : r.extra_columns) std::fprintf(out, ",%s", column.first.c_str());
  std::fprintf(out, ",seconds\n");
  for (std::size_t i = 0; i < r.archs.size(); ++i) {
    if (with_index) std::fprintf(out, "%lld,", static_cast<long long>(r.index[i]));
    std::fprintf(out, "%s", r.archs[i].c_str());
    if (with_canonical) std::fprintf(out, ",%s", r.canonical_archs[i].c_str());
    std::fprintf(out, ",%s", CsvNumber(r.epsilon[i], 17).c_str());
    if (with_accuracy) std::fprintf(out, ",%s", CsvNumber(r.accuracy[i]).c_str());
    for (const auto& column : r.extra_columns) std::fprintf(out, ",%s", CsvNumber(column.second[i], 17).c_str());
    std::fprintf(out, ",%.6f\n", r.seconds[i]);
  }
  const bool ok = std::fflush(out) == 0 && !std::ferror(out);
  const bool closed = std::fclose(out) == 0;
  return ok && closed ? Status::Ok() : Status::Io("cannot write CSV '" + path + "': " + std::strerror(errno));
}

}  // namespace

Status WriteScoreResults(const std::string& h5_path, const std::string& csv_path, const ScoreResults& results) {
  const std::size_t n = results.archs.size();
  if (results.epsilon.size() != n || results.seconds.size() != n || (!results.index.empty() && results.index.size() != n) ||
      (!results.canonical_archs.empty() && results.canonical_archs.size() != n) ||
      (!results.accuracy.empty() && results.accuracy.size() != n)) {
    return Status::Internal("score results have columns of different lengths");
  }
  for (const auto& column : results.extra_columns) {
    if (column.second.size() != n) return Status::Internal("score column " + column.first + " has the wrong length");
  }
  // Both files appear together or not at all.
  const std::string csv_temp = csv_path + ".tmp";
  bool csv_renamed = false;
  Status status = WriteFileAtomically(h5_path, [&](const std::string& h5_temp) -> Status {
    HPCNAS_RETURN_IF_ERROR(WriteHdf5(h5_temp, results));
    HPCNAS_RETURN_IF_ERROR(WriteCsv(csv_temp, results));
    if (std::rename(csv_temp.c_str(), csv_path.c_str()) != 0) {
      return Status::Io("cannot rename '" + csv_temp + "' to '" + csv_path + "': " + std::strerror(errno));
    }
    csv_renamed = true;
    return Status::Ok();
  });
  if (!status.ok()) std::remove((csv_renamed ? csv_path : csv_temp).c_str());
  return status;
}

}  // namespace hpcnas
