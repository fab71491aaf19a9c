#pragma once
// A search space as a plug-in (DESIGN section 3): what an architecture is, how it is written,
// which architectures are the same network, and how new ones are drawn. No LibTorch, no MPI.
//
// Every space here is positional: an architecture is one choice per position (an NB201 edge, a
// NAS-Bench-Macro layer, a ProxylessNAS block), and its bytes are those choices. The bytes of
// the canonical form, with the 64-bit hash of them, are the architecture's identity wherever it
// travels (messages, checkpoints, results, deduplication, RNG keys); the genotype string is
// for people. A space that is not positional (NB101, DARTS) overrides the virtual functions.
//
// Random draws take a CounterRng, so they are reproducible from (seed, key) on any rank.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/rng.h"
#include "engine/core/status.h"

namespace hpcnas {

struct Architecture {
  std::vector<std::uint8_t> choices;  // one operation id per position

  bool operator==(const Architecture& other) const { return choices == other.choices; }
  bool operator!=(const Architecture& other) const { return choices != other.choices; }
  bool operator<(const Architecture& other) const { return choices < other.choices; }
  // The bytes as a string, for maps and messages.
  std::string Bytes() const { return {choices.begin(), choices.end()}; }
  static Architecture FromBytes(std::string_view bytes) { return {{bytes.begin(), bytes.end()}}; }
};

// The graph the TNASP encoding reads (DESIGN section 4.3): one token per operation-carrying
// edge, the node adjacency (1 where data flows from row to column) for the Laplacian position.
struct ArchGraph {
  int num_nodes = 0;
  std::vector<std::vector<std::uint8_t>> adjacency;  // num_nodes x num_nodes
  std::vector<int> token_ids;                        // per token: its id (SearchSpace::num_token_ids)
  std::vector<std::pair<int, int>> token_edges;      // per token: (source node, target node)
};

class SearchSpace {
 public:
  virtual ~SearchSpace() = default;

  virtual std::string_view name() const = 0;
  // How a genotype string of this space is written, with an example (for --help and errors).
  virtual std::string_view GenotypeHelp() const = 0;

  // Parses and validates a genotype string. Errors quote the string (cut when long) and name the
  // position and what was wrong. The result is not necessarily canonical.
  virtual StatusOr<Architecture> Parse(std::string_view text) const = 0;
  virtual std::string Format(const Architecture& arch) const = 0;
  // Checks bytes that came from outside (a checkpoint, a message).
  Status Validate(const Architecture& arch) const;

  // The one representative of every architecture that computes the same network.
  virtual Architecture Canonical(const Architecture& arch) const { return arch; }
  // Stable across runs, machines and builds: the hash of the canonical bytes and the space name.
  virtual std::uint64_t CanonicalHash(const Architecture& arch) const;

  // The positions and their choices.
  int num_positions() const { return static_cast<int>(positions_.size()); }
  int num_choices(int position) const { return static_cast<int>(positions_[position].choices.size()); }
  // Operation ids are global to the space (tokens of the predictor); a position allows a subset.
  std::uint8_t choice(int position, int k) const { return positions_[position].choices[k]; }
  virtual int num_operations() const = 0;
  virtual std::string_view OperationName(int op) const = 0;

  // Number of architectures (not canonical classes); nullopt when it does not fit in int64.
  std::optional<std::int64_t> Size() const;
  // Whether AtIndex can walk the space in reasonable time (at most 2^24 architectures).
  bool Enumerable() const;
  // Mixed-radix enumeration, position 0 the least significant digit; 0 <= index < Size().
  Architecture AtIndex(std::int64_t index) const;
  std::int64_t IndexOf(const Architecture& arch) const;  // precondition: Size() has a value
  // Canonical architectures: how many distinct networks there are, when enumerable.
  std::optional<std::int64_t> CanonicalCount() const;
  // Every distinct network (its canonical form) in enumeration order of first occurrence;
  // precondition: Enumerable(). NB201: all 15,625 cells, position = code.
  std::vector<Architecture> DistinctArchitectures() const;

  // Uniform over all architectures (canonicalise to deduplicate).
  Architecture Sample(CounterRng& rng) const;
  // One random position changed to another of its choices.
  Architecture Mutate(const Architecture& parent, CounterRng& rng) const;
  // Each position from one of the two parents, with equal probability.
  Architecture Crossover(const Architecture& a, const Architecture& b, CounterRng& rng) const;

  virtual ArchGraph Graph(const Architecture& arch) const = 0;
  // Distinct token ids of the graphs: the operations (NB201), or operation and stage (chains).
  virtual int num_token_ids() const { return num_operations(); }

  // Space-specific checks of a config value that asks for `count` distinct architectures.
  Status CheckDistinctCount(std::int64_t count, std::string_view key) const;

 protected:
  struct Position {
    std::string name;                    // for errors: "edge 2->3", "layer 4 (stage 2)"
    std::vector<std::uint8_t> choices;   // allowed operation ids
  };
  explicit SearchSpace(std::vector<Position> positions) : positions_(std::move(positions)) {}
  const Position& position(int p) const { return positions_[p]; }
  // Index of `op` among the choices of `position`, -1 if it is not allowed there.
  int ChoiceIndex(int position, std::uint8_t op) const;

 private:
  std::vector<Position> positions_;
};

// "nb201", "macro", "proxyless"; anything else is an error listing the spaces.
StatusOr<std::unique_ptr<SearchSpace>> MakeSearchSpace(std::string_view name);
std::string_view SearchSpaceNames();  // "nb201, macro, proxyless"

// A long or control-laden user string, made safe and short for an error line.
std::string QuoteForError(std::string_view text);

}  // namespace hpcnas
