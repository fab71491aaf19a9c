#pragma once
// The "command" evaluator (search.evaluator = command): a user's own program trains and tests
// each architecture. Per architecture, on whichever rank the protocol gives it to:
//
//   /bin/sh -c COMMAND   with {arch} -> the genotype string, {out} -> RUNS/<hash>, both
//                        single-quoted; HPCNAS_ARCH, HPCNAS_OUT and HPCNAS_RANK in the environment;
//                        standard output to RUNS/<hash>/stdout.log, standard error to stderr.log;
//                        its own process group, so a timeout kills everything it started, and
//                        so does the death of the rank (a watcher leads the group).
//
// The last non-empty line of standard output is the accuracy (%): a number, or a JSON object
// with an "accuracy" number. A non-zero exit, a signal, a timeout (search.evaluate_timeout_s:
// SIGTERM to the group, SIGKILL 5 s later) or an unreadable line is a failed evaluation: NaN
// with the reason, and the search goes on. Every finished run (failed ones too) leaves
// RUNS/<hash>/result.h5, written atomically: a resumed search reads it instead of running the
// command again, as long as the command line is the same. RUNS is on the shared file system
// when the output directory is, so the reuse works whichever rank ran it.

#include <optional>
#include <string>

#include "engine/space/search_space.h"
#include "workers/spread_evaluator.h"

namespace hpcnas {

class CommandEvaluator : public SpreadEvaluator {
 public:
  // `space` must outlive the evaluator; `protocol_timeout` bounds the waits between ranks
  // (longer than one run may take).
  CommandEvaluator(const SearchSpace& space, std::string command, Seconds run_timeout, std::string runs_dir,
                   const FaultInjection& fault, int rank, Seconds protocol_timeout);

 private:
  Evaluation EvaluateOne(const Architecture& arch) override;
  std::optional<Evaluation> Known(const Architecture& arch) override;
  std::string RunDirectory(const Architecture& arch) const;

  const SearchSpace& space_;
  std::string command_;
  Seconds run_timeout_;
  std::string runs_dir_;
  int rank_;
};

// The command line for one run: {arch} and {out} replaced by `arch` and `out`, single-quoted.
std::string ExpandEvaluateCommand(const std::string& command, const std::string& arch, const std::string& out);
// The accuracy on the last non-empty line of `stdout_text`, or why there is none.
StatusOr<double> ParseEvaluationOutput(const std::string& stdout_text);

}  // namespace hpcnas
