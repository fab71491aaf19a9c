#include "workers/command_evaluator.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include <spdlog/spdlog.h>

#include "io/files.h"
#include "io/hdf5_file.h"

extern char** environ;

namespace hpcnas {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kResultKind = "hpcnas.search.evaluation";

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string Trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string LastLine(const std::string& text) {
  std::string last;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (std::string line = Trim(std::string_view(text).substr(start, end - start)); !line.empty()) last = std::move(line);
    start = end + 1;
  }
  return last;
}

std::string Shorten(const std::string& text) { return text.size() > 200 ? text.substr(0, 200) + "..." : text; }

struct RunOutcome {
  bool timed_out = false;
  int wait_status = 0;
};

// A watcher's rank, for its signal handler: written only in the watcher, after fork (so ranks
// running several evaluations at once never race on it).
pid_t rank_pid = 0;

// A watcher's SIGTERM: from the kernel when the rank has died (PR_SET_PDEATHSIG), or sent to the
// whole group at a timeout. Only the first kills the group: everything the run started dies with
// the rank, grandchildren too (a shell killed alone leaves its children running).
void KillGroupIfOrphaned(int) {
  if (::getppid() != rank_pid) ::kill(0, SIGKILL);
}

// Runs `command` with /bin/sh in a process group of its own, output to the two files; kills
// the group at the deadline. The group's leader is a watcher that forks the shell, waits for it
// and exits as it did, and kills the group when the rank dies. Everything the children need is
// prepared before fork (the parent has threads: they may only make async-signal-safe calls).
StatusOr<RunOutcome> RunShell(const std::string& command, const std::vector<std::string>& extra_env,
                              const std::string& stdout_path, const std::string& stderr_path, Seconds timeout) {
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0 || err < 0) {
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
    return Status::Io("cannot create '" + stdout_path + "' or its stderr.log beside it");
  }
  const pid_t rank = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    rank_pid = rank;
    ::setpgid(0, 0);
    struct sigaction watch {};
    watch.sa_handler = KillGroupIfOrphaned;
    ::sigaction(SIGTERM, &watch, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != rank_pid) ::kill(0, SIGKILL);  // the rank died before prctl
    const pid_t shell = ::fork();
    if (shell == 0) {
      struct sigaction default_action {};
      default_action.sa_handler = SIG_DFL;
      ::sigaction(SIGTERM, &default_action, nullptr);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      const int null_in = ::open("/dev/null", O_RDONLY);
      if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
      ::execle("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr), envp.data());
      ::_exit(127);
    }
    if (shell < 0) ::_exit(127);
    int status = 0;
    while (::waitpid(shell, &status, 0) < 0) {
      if (errno != EINTR) ::_exit(127);
    }
    if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
    // Killed by a signal: the watcher dies of the same one, so that the rank reports it.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(WTERMSIG(status), &default_action, nullptr);
    ::kill(::getpid(), WTERMSIG(status));
    ::_exit(128 + WTERMSIG(status));
  }
  ::close(out);
  ::close(err);
  if (pid < 0) return Status::Io("cannot start /bin/sh for the evaluate command");
  ::setpgid(pid, pid);  // also here, so that the group exists before any kill below
  RunOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<std::chrono::steady_clock::time_point> killed_at;
  while (true) {
    const pid_t done = ::waitpid(pid, &outcome.wait_status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return Status::Io("waiting for the evaluate command failed");
    const auto now = std::chrono::steady_clock::now();
    if (!killed_at && now >= deadline) {
      outcome.timed_out = true;
      ::kill(-pid, SIGTERM);
      killed_at = now;
    } else if (killed_at && now >= *killed_at + std::chrono::seconds(5)) {
      ::kill(-pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (outcome.timed_out) ::kill(-pid, SIGKILL);  // whatever the shell left behind in its group
  return outcome;
}

}  // namespace

std::string ExpandEvaluateCommand(const std::string& command, const std::string& arch, const std::string& out) {
  std::string expanded;
  for (std::size_t i = 0; i < command.size();) {
    if (command.compare(i, 6, "{arch}") == 0) {
      expanded += ShellQuote(arch);
      i += 6;
    } else if (command.compare(i, 5, "{out}") == 0) {
      expanded += ShellQuote(out);
      i += 5;
    } else {
      expanded += command[i++];
    }
  }
  return expanded;
}

StatusOr<double> ParseEvaluationOutput(const std::string& stdout_text) {
  const std::string line = LastLine(stdout_text);
  if (line.empty()) return Status::InvalidInput("printed nothing on standard output (expected the accuracy on the last line)");
  std::string number = line;
  if (line.front() == '{') {
    static const std::regex kAccuracy(R"re("accuracy"\s*:\s*([-+0-9.eE]+|NaN|nan|null))re");
    std::smatch match;
    if (!std::regex_search(line, match, kAccuracy)) {
      return Status::InvalidInput("last line of standard output is JSON without an \"accuracy\" number: '" + Shorten(line) + "'");
    }
    number = match[1].str();
  }
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end == number.c_str() || *end != '\0') {
    return Status::InvalidInput("last line of standard output is neither a number nor JSON with an \"accuracy\": '" +
                                Shorten(line) + "'");
  }
  if (!std::isfinite(value)) return Status::InvalidInput("printed a non-finite accuracy: '" + Shorten(line) + "'");
  return value;
}

CommandEvaluator::CommandEvaluator(const SearchSpace& space, std::string command, Seconds run_timeout, std::string runs_dir,
                                   const FaultInjection& fault, int rank, Seconds protocol_timeout)
    : SpreadEvaluator(fault, rank, protocol_timeout),
      space_(space), command_(std::move(command)), run_timeout_(run_timeout), runs_dir_(std::move(runs_dir)), rank_(rank) {}

std::string CommandEvaluator::RunDirectory(const Architecture& arch) const {
  char name[17];
  std::snprintf(name, sizeof(name), "%016llx", static_cast<unsigned long long>(space_.CanonicalHash(arch)));
  return (fs::path(runs_dir_) / name).string();
}

std::optional<Evaluation> CommandEvaluator::Known(const Architecture& arch) {
  const std::string path = (fs::path(RunDirectory(arch)) / "result.h5").string();
  if (!fs::exists(path)) return std::nullopt;
  StatusOr<h5::File> file = h5::File::OpenReadOnly(path);
  if (!file.ok()) return std::nullopt;
  StatusOr<std::string> kind = file->ReadStringAttribute("/", "kind");
  StatusOr<std::string> command = file->ReadStringAttribute("/", "command");
  StatusOr<std::string> genotype = file->ReadStringAttribute("/", "arch");
  StatusOr<double> accuracy = file->ReadDoubleAttribute("/", "accuracy");
  StatusOr<std::string> failure = file->ReadStringAttribute("/", "failure");
  if (!kind.ok() || *kind != kResultKind || !command.ok() || *command != command_ || !genotype.ok() ||
      *genotype != space_.Format(arch) || !accuracy.ok() || !failure.ok()) {
    return std::nullopt;  // another command's, or damaged: run it again
  }
  spdlog::info("{}: finished before ({}), not run again", space_.Format(arch),
               failure->empty() ? fmt::format("{:.2f}%", *accuracy) : "failed: " + *failure);
  return Evaluation{*accuracy, *failure};
}

Evaluation CommandEvaluator::EvaluateOne(const Architecture& arch) {
  const std::string genotype = space_.Format(arch);
  const std::string dir = RunDirectory(arch);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create the run directory '" + dir + "': " + ec.message());
  const std::string stdout_path = (fs::path(dir) / "stdout.log").string();
  const std::string stderr_path = (fs::path(dir) / "stderr.log").string();
  const auto start = std::chrono::steady_clock::now();
  StatusOr<RunOutcome> run = RunShell(ExpandEvaluateCommand(command_, genotype, dir),
                                      {"HPCNAS_ARCH=" + genotype, "HPCNAS_OUT=" + dir, "HPCNAS_RANK=" + std::to_string(rank_)},
                                      stdout_path, stderr_path, run_timeout_);
  if (!run.ok()) throw std::runtime_error(run.status().message());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  Evaluation e{std::nan(""), ""};
  const int status = run->wait_status;
  if (run->timed_out) {
    e.failure = fmt::format("timed out after {:.0f} s (search.evaluate_timeout_s) and was killed", run_timeout_.count());
  } else if (WIFSIGNALED(status)) {
    e.failure = fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else if (WEXITSTATUS(status) != 0) {
    StatusOr<std::string> err = ReadWholeFile(stderr_path, "the command's standard error", 1 << 20);
    const std::string last = err.ok() ? LastLine(*err) : "";
    e.failure = fmt::format("exited with status {}{}", WEXITSTATUS(status),
                            last.empty() ? "" : "; last line of standard error: '" + Shorten(last) + "'");
  } else {
    StatusOr<std::string> out = ReadWholeFile(stdout_path, "the command's standard output", 16 << 20);
    StatusOr<double> accuracy = out.ok() ? ParseEvaluationOutput(*out) : StatusOr<double>(out.status());
    if (accuracy.ok()) {
      e.accuracy = *accuracy;
    } else {
      e.failure = accuracy.status().message();
    }
  }
  if (!e.failure.empty()) {
    spdlog::warn("hpcnas: warning: rank {}: evaluation of {} failed after {:.1f} s: {} (output in {}); the search goes on", rank_,
                 genotype, seconds, e.failure, dir);
  }
  // The record that a resumed search reads instead of running the command again.
  const Status saved = WriteFileAtomically((fs::path(dir) / "result.h5").string(), [&](const std::string& temp) -> Status {
    HPCNAS_ASSIGN_OR_RETURN(h5::File file, h5::File::Create(temp));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "kind", std::string(kResultKind)));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "command", command_));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "arch", genotype));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "accuracy", e.accuracy));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "failure", e.failure));
    HPCNAS_RETURN_IF_ERROR(file.SetAttribute("/", "seconds", seconds));
    return file.Close();
  });
  if (!saved.ok()) throw std::runtime_error("writing the result of " + genotype + ": " + saved.message());
  return e;
}

}  // namespace hpcnas
