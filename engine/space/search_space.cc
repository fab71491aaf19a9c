#include "engine/space/search_space.h"

#include <cstdio>
#include <limits>
#include <set>

#include "engine/core/printable.h"
#include "engine/space/chain_spaces.h"
#include "engine/space/nb201_space.h"

namespace hpcnas {

Status SearchSpace::Validate(const Architecture& arch) const {
  if (static_cast<int>(arch.choices.size()) != num_positions()) {
    return Status::InvalidInput(std::string(name()) + " architecture has " + std::to_string(arch.choices.size()) +
                                " positions, expected " + std::to_string(num_positions()));
  }
  for (int p = 0; p < num_positions(); ++p) {
    if (ChoiceIndex(p, arch.choices[p]) < 0) {
      return Status::InvalidInput(std::string(name()) + " architecture has operation id " +
                                  std::to_string(arch.choices[p]) + " at " + position(p).name + ", which is not allowed there");
    }
  }
  return Status::Ok();
}

std::uint64_t SearchSpace::CanonicalHash(const Architecture& arch) const {
  // FNV-1a over the space name, a separator and the canonical bytes, then the splitmix64
  // finaliser: fixed constants, the same value on every machine and in every build.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::uint8_t byte) {
    h ^= byte;
    h *= 0x100000001b3ULL;
  };
  for (char c : name()) mix(static_cast<std::uint8_t>(c));
  mix(0);
  for (std::uint8_t c : Canonical(arch).choices) mix(c);
  h += 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

int SearchSpace::ChoiceIndex(int p, std::uint8_t op) const {
  const auto& choices = positions_[p].choices;
  for (std::size_t k = 0; k < choices.size(); ++k) {
    if (choices[k] == op) return static_cast<int>(k);
  }
  return -1;
}

std::optional<std::int64_t> SearchSpace::Size() const {
  std::int64_t size = 1;
  for (const Position& p : positions_) {
    const auto n = static_cast<std::int64_t>(p.choices.size());
    if (size > std::numeric_limits<std::int64_t>::max() / n) return std::nullopt;
    size *= n;
  }
  return size;
}

bool SearchSpace::Enumerable() const {
  const auto size = Size();
  return size && *size <= (std::int64_t{1} << 24);
}

Architecture SearchSpace::AtIndex(std::int64_t index) const {
  Architecture arch;
  for (const Position& p : positions_) {
    const auto n = static_cast<std::int64_t>(p.choices.size());
    arch.choices.push_back(p.choices[index % n]);
    index /= n;
  }
  return arch;
}

std::int64_t SearchSpace::IndexOf(const Architecture& arch) const {
  std::int64_t index = 0;
  for (int p = num_positions() - 1; p >= 0; --p) {
    index = index * num_choices(p) + ChoiceIndex(p, arch.choices[p]);
  }
  return index;
}

std::optional<std::int64_t> SearchSpace::CanonicalCount() const {
  if (!Enumerable()) return std::nullopt;
  return static_cast<std::int64_t>(DistinctArchitectures().size());
}

std::vector<Architecture> SearchSpace::DistinctArchitectures() const {
  std::vector<Architecture> distinct;
  std::set<std::vector<std::uint8_t>> seen;
  for (std::int64_t i = 0; i < *Size(); ++i) {
    Architecture arch = Canonical(AtIndex(i));
    if (seen.insert(arch.choices).second) distinct.push_back(std::move(arch));
  }
  return distinct;
}

Architecture SearchSpace::Sample(CounterRng& rng) const {
  Architecture arch;
  for (const Position& p : positions_) arch.choices.push_back(p.choices[rng.NextBelow(p.choices.size())]);
  return arch;
}

Architecture SearchSpace::Mutate(const Architecture& parent, CounterRng& rng) const {
  Architecture child = parent;
  const auto p = static_cast<int>(rng.NextBelow(positions_.size()));
  const int current = ChoiceIndex(p, parent.choices[p]);
  auto k = static_cast<int>(rng.NextBelow(positions_[p].choices.size() - 1));
  if (k >= current) ++k;
  child.choices[p] = positions_[p].choices[k];
  return child;
}

Architecture SearchSpace::Crossover(const Architecture& a, const Architecture& b, CounterRng& rng) const {
  Architecture child = a;
  for (std::size_t p = 0; p < child.choices.size(); ++p) {
    if (rng.NextBelow(2) == 1) child.choices[p] = b.choices[p];
  }
  return child;
}

Status SearchSpace::CheckDistinctCount(std::int64_t count, std::string_view key) const {
  const auto distinct = CanonicalCount();
  if (distinct && count > *distinct) {
    return Status::InvalidInput(std::string(key) + " = " + std::to_string(count) + " is more than the " +
                                std::to_string(*distinct) + " distinct architectures of space '" + std::string(name()) + "'");
  }
  return Status::Ok();
}

std::string_view SearchSpaceNames() { return "nb201, macro, proxyless"; }

StatusOr<std::unique_ptr<SearchSpace>> MakeSearchSpace(std::string_view name) {
  if (name == "nb201") return std::unique_ptr<SearchSpace>(MakeNb201Space());
  if (name == "macro") return std::unique_ptr<SearchSpace>(MakeMacroSpace());
  if (name == "proxyless") return std::unique_ptr<SearchSpace>(MakeProxylessSpace());
  return Status::InvalidInput("unknown search space " + QuoteForError(name) + " (known: " +
                              std::string(SearchSpaceNames()) + ")");
}

std::string QuoteForError(std::string_view text) { return "'" + Printable(text, 120) + "'"; }

}  // namespace hpcnas
