#include "engine/space/nb201.h"

#include <cctype>
#include <vector>

#include "engine/space/search_space.h"  // QuoteForError

namespace hpcnas::nb201 {
namespace {

constexpr std::array<std::string_view, kNumOps> kOpNames = {"none", "skip_connect", "nor_conv_1x1",
                                                            "nor_conv_3x3", "avg_pool_3x3"};

constexpr std::array<std::uint16_t, kNumCells> kOfficialOrder = {
#include "engine/space/nb201_official_order.inc"
};

const std::array<std::uint16_t, kNumCells>& CodeToOfficialIndex() {
  static const auto table = [] {
    std::array<std::uint16_t, kNumCells> inverse{};
    for (int i = 0; i < kNumCells; ++i) inverse[kOfficialOrder[i]] = static_cast<std::uint16_t>(i);
    return inverse;
  }();
  return table;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::string_view OpName(Op op) { return kOpNames[static_cast<int>(op)]; }

std::string_view AllOpNames() { return "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"; }

int Genotype::Code() const {
  int code = 0;
  for (int e = kNumEdges - 1; e >= 0; --e) code = code * kNumOps + static_cast<int>(ops[e]);
  return code;
}

Genotype Genotype::FromCode(int code) {
  Genotype g;
  for (int e = 0; e < kNumEdges; ++e) {
    g.ops[e] = static_cast<Op>(code % kNumOps);
    code /= kNumOps;
  }
  return g;
}

std::string Genotype::ToString() const {
  std::string s;
  int e = 0;
  for (int node = 1; node < kNumNodes; ++node) {
    if (node > 1) s += '+';
    s += '|';
    for (int from = 0; from < node; ++from, ++e) {
      s += OpName(ops[e]);
      s += '~';
      s += static_cast<char>('0' + from);
      s += '|';
    }
  }
  return s;
}

std::uint64_t Genotype::CanonicalHash() const {
  // splitmix64 finaliser over a space tag and the code: fixed constants, so the value is the
  // same on every machine and in every build.
  std::uint64_t z = 0x4e42323031000000ULL ^ static_cast<std::uint64_t>(Code());  // "NB201"
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

StatusOr<Genotype> ParseGenotype(std::string_view text) {
  const std::string_view s = Trim(text);
  auto fail = [&](const std::string& why) {
    return Status::InvalidInput("invalid NB201 genotype " + QuoteForError(text) + ": " + why);
  };
  if (s.empty()) return fail("empty string");
  const std::vector<std::string_view> nodes = Split(s, '+');
  if (nodes.size() != kNumNodes - 1) {
    return fail("expected 3 nodes separated by '+', found " + std::to_string(nodes.size()));
  }
  Genotype g;
  int e = 0;
  for (int node = 1; node < kNumNodes; ++node) {
    std::string_view part = nodes[node - 1];
    if (part.size() < 2 || part.front() != '|' || part.back() != '|') {
      return fail("node " + std::to_string(node) + " ('" + std::string(part) +
                  "') must start and end with '|'");
    }
    std::vector<std::string_view> tokens = Split(part.substr(1, part.size() - 2), '|');
    if (static_cast<int>(tokens.size()) != node) {
      return fail("node " + std::to_string(node) + " must have " + std::to_string(node) +
                  " incoming edge(s), found " + std::to_string(tokens.size()));
    }
    for (int from = 0; from < node; ++from, ++e) {
      std::string_view token = tokens[from];
      const std::size_t tilde = token.find('~');
      if (tilde == std::string_view::npos) {
        return fail("edge '" + std::string(token) + "' of node " + std::to_string(node) + " is not of the form op~i");
      }
      std::string_view op = token.substr(0, tilde);
      std::string_view index = token.substr(tilde + 1);
      int op_id = -1;
      for (int k = 0; k < kNumOps; ++k) {
        if (op == kOpNames[k]) op_id = k;
      }
      if (op_id < 0) {
        return fail("unknown operation '" + std::string(op) + "' (allowed: " + std::string(AllOpNames()) + ")");
      }
      if (index.size() != 1 || index[0] != '0' + from) {
        return fail("edge " + std::to_string(from + 1) + " of node " + std::to_string(node) + " has input '~" +
                    std::string(index) + "', expected '~" + std::to_string(from) + "' (inputs are listed 0.." +
                    std::to_string(node - 1) + " in order)");
      }
      g.ops[e] = static_cast<Op>(op_id);
    }
  }
  return g;
}

int OfficialIndex(const Genotype& genotype) { return CodeToOfficialIndex()[genotype.Code()]; }

StatusOr<Genotype> FromOfficialIndex(long long index) {
  if (index < 0 || index >= kNumCells) {
    return Status::InvalidInput("NB201 index " + std::to_string(index) + " is out of range 0.." +
                                std::to_string(kNumCells - 1));
  }
  return Genotype::FromCode(kOfficialOrder[index]);
}

}  // namespace hpcnas::nb201
