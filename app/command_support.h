#pragma once
// Small pieces every subcommand shares.

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "io/provenance.h"
#include "spdlog/fmt/fmt.h"

namespace hpcnas {

// Exit code of a run stopped by a signal after writing its checkpoint (EX_TEMPFAIL: "try
// again"). The Slurm templates requeue the job on it.
inline constexpr int kExitStoppedBySignal = 75;

// Call once at start-up, before any work: SIGTERM and SIGUSR1 then ask a long run (search,
// supernet) to stop at its next safe point instead of killing the process.
void InstallStopSignalHandlers();
// True once SIGTERM or SIGUSR1 has arrived.
bool StopSignalReceived();

// A result line (no prefix) on standard output, flushed: log lines go to standard error, so
// `hpcnas search ... > result.txt` keeps what a script wants to read.
template <typename... Args>
void PrintResult(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stdout, "{}\n", fmt::format(format, std::forward<Args>(args)...));
  std::fflush(stdout);
}

// "hpcnas: error: <message>" on stderr: the one line a user sees when a command fails.
void LogError(const std::string& message);
// An error naming the options given with --resume that would change what the run computes;
// `allowed` says which ones may be given. Ok when there are none.
Status RefuseFixedOptionsOnResume(const std::vector<std::string>& given, const std::string& allowed);
// The current time as ISO 8601 UTC, for provenance attributes.
std::string UtcNow();
// The provenance of a file this run writes: command line, version, git commit, time, host and
// the Slurm job, array job and array task ids (empty outside Slurm).
// This machine's host name.
std::string HostName();
Provenance RunProvenance(const std::string& command_line, int world_size);

}  // namespace hpcnas
