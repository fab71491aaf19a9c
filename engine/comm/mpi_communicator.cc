#include "engine/comm/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

#include <unistd.h>

#include "engine/core/printable.h"

namespace hpcnas {
namespace {

using Clock = std::chrono::steady_clock;

// One MPI message carries at most this many payload bytes; larger payloads are split.
constexpr std::size_t kMaxReduceElements = std::size_t{1} << 27;

std::string FormatSeconds(Seconds s) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g s", s.count());
  return buffer;
}

std::string MpiErrorString(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, length);
}

// Polls `done` until it returns true or the deadline passes. The first polls spin for low
// latency; then the rank sleeps between polls so that it leaves its core to computing ranks.
template <typename Done>
bool PollUntil(Clock::time_point deadline, Done done) {
  auto pause = std::chrono::microseconds(20);
  for (int polls = 0;; ++polls) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    if (polls < 64) continue;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

// An MPI call's return code as a status (the communicator sets MPI_ERRORS_RETURN).
Status Check(int code, const std::string& what) {
  if (code == MPI_SUCCESS) return Status::Ok();
  return Status::Communication(what + " failed: " + MpiErrorString(code));
}

// Waits for `request` until `deadline`. A receive that times out is cancelled (MPI must not
// write into a buffer that is freed when the error returns); a timed-out send or collective
// stays posted, and every caller turns that error into an abort of the job.
enum class OnTimeout { kLeavePosted, kCancel };
Status Wait(MPI_Request* request, Clock::time_point deadline, const std::string& what,
            OnTimeout on_timeout = OnTimeout::kLeavePosted) {
  int error = MPI_SUCCESS;
  const bool finished = PollUntil(deadline, [&] {
    int flag = 0;
    error = MPI_Test(request, &flag, MPI_STATUS_IGNORE);
    return error != MPI_SUCCESS || flag != 0;
  });
  if (error != MPI_SUCCESS) return Check(error, what);
  if (!finished) {
    if (on_timeout == OnTimeout::kCancel && MPI_Cancel(request) == MPI_SUCCESS) MPI_Wait(request, MPI_STATUS_IGNORE);
    return Status::Timeout(what + " did not complete before its deadline");
  }
  return Status::Ok();
}

// Starts a non-blocking operation (`start` returns its MPI code) and waits for it.
template <typename Start>
Status StartAndWait(Start start, Clock::time_point deadline, const std::string& what,
                    OnTimeout on_timeout = OnTimeout::kLeavePosted) {
  MPI_Request request;
  HPCNAS_RETURN_IF_ERROR(Check(start(&request), what));
  return Wait(&request, deadline, what, on_timeout);
}

Clock::time_point DeadlineAfter(Seconds timeout) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
}

MPI_Datatype MpiType(double*) { return MPI_DOUBLE; }
MPI_Datatype MpiType(float*) { return MPI_FLOAT; }

template <typename T>
Status AllReduceSumChunks(T* data, std::size_t count, Seconds timeout) {
  const auto deadline = DeadlineAfter(timeout);
  for (std::size_t offset = 0; offset < count; offset += kMaxReduceElements) {
    const int n = static_cast<int>(std::min(kMaxReduceElements, count - offset));
    HPCNAS_RETURN_IF_ERROR(StartAndWait(
        [&](MPI_Request* r) { return MPI_Iallreduce(MPI_IN_PLACE, data + offset, n, MpiType(data), MPI_SUM, MPI_COMM_WORLD, r); },
        deadline, "MPI all-reduce"));
  }
  return Status::Ok();
}

}  // namespace

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  // Nothing can run without these; a failure here is fatal (MPI's default handler aborts).
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (MPI_Comm_rank(MPI_COMM_WORLD, &rank_) != MPI_SUCCESS || MPI_Comm_size(MPI_COMM_WORLD, &size_) != MPI_SUCCESS) {
    std::fprintf(stderr, "hpcnas: fatal: MPI cannot tell this process its rank\n");
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  WatchPeersOnThisHost();
}

// Every rank learns the host and pid of every other (one small all-gather at start-up).
void MpiCommunicator::WatchPeersOnThisHost() {
  struct Identity {
    char host[256];
    std::int64_t pid;
  };
  Identity mine{};
  gethostname(mine.host, sizeof(mine.host) - 1);
  mine.pid = getpid();
  std::vector<Identity> all(size_);
  const Status gathered = StartAndWait(
      [&](MPI_Request* r) {
        return MPI_Iallgather(&mine, sizeof(Identity), MPI_BYTE, all.data(), sizeof(Identity), MPI_BYTE, MPI_COMM_WORLD, r);
      },
      DeadlineAfter(Seconds(600)), "start-up all-gather of the ranks' hosts");
  if (!gathered.ok()) Abort(gathered.message() + " (a rank did not start)", 3);
  std::vector<PeerProcess> peers;
  for (int r = 0; r < size_; ++r) {
    if (r != rank_ && std::strcmp(all[r].host, mine.host) == 0) peers.push_back({r, static_cast<long>(all[r].pid)});
  }
  peer_watch_ = std::make_unique<PeerWatch>(rank_, mine.host, std::move(peers));
}

MpiCommunicator::~MpiCommunicator() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  // Stop watching first: once a rank has passed MPI_Finalize it may exit before this one does.
  peer_watch_.reset();
  if (owns_mpi_ && !finalised) MPI_Finalize();
}

// Wire format of one logical message: a first MPI message holding the 8-byte total length and
// up to max_chunk_bytes() of payload, then further parts of the rest, same source and tag.
Status MpiCommunicator::Send(int destination, int tag, const Bytes& payload, Seconds timeout) {
  const auto deadline = DeadlineAfter(timeout);
  const std::string what = "MPI send to rank " + std::to_string(destination);
  const std::uint64_t total = payload.size();
  const std::size_t first = std::min<std::size_t>(payload.size(), max_chunk_bytes_);
  Bytes head(sizeof(total) + first);
  std::memcpy(head.data(), &total, sizeof(total));
  std::copy(payload.begin(), payload.begin() + first, head.begin() + sizeof(total));
  HPCNAS_RETURN_IF_ERROR(StartAndWait(
      [&](MPI_Request* r) {
        return MPI_Isend(head.data(), static_cast<int>(head.size()), MPI_BYTE, destination, tag, MPI_COMM_WORLD, r);
      },
      deadline, what));
  for (std::size_t offset = first; offset < payload.size(); offset += max_chunk_bytes_) {
    const int n = static_cast<int>(std::min(max_chunk_bytes_, payload.size() - offset));
    HPCNAS_RETURN_IF_ERROR(StartAndWait(
        [&](MPI_Request* r) { return MPI_Isend(payload.data() + offset, n, MPI_BYTE, destination, tag, MPI_COMM_WORLD, r); },
        deadline, what));
  }
  return Status::Ok();
}

namespace {

// Receives the message whose first part `probed` found; the rest must arrive before `deadline`
// (a sender that dies between two parts is an error, not a hang).
StatusOr<Envelope> ReceiveProbed(const MPI_Status& probed, std::size_t max_chunk_bytes, Clock::time_point deadline) {
  const int source = probed.MPI_SOURCE, tag = probed.MPI_TAG;
  const std::string what = "MPI receive from rank " + std::to_string(source);
  int count = 0;
  HPCNAS_RETURN_IF_ERROR(Check(MPI_Get_count(&probed, MPI_BYTE, &count), what));
  if (count < static_cast<int>(sizeof(std::uint64_t))) {
    return Status::Communication("message from rank " + std::to_string(source) + " is too short (" + std::to_string(count) +
                                 " bytes)");
  }
  Bytes head(count);
  HPCNAS_RETURN_IF_ERROR(StartAndWait(
      [&](MPI_Request* r) { return MPI_Irecv(head.data(), count, MPI_BYTE, source, tag, MPI_COMM_WORLD, r); }, deadline, what,
      OnTimeout::kCancel));
  std::uint64_t total = 0;
  std::memcpy(&total, head.data(), sizeof(total));
  Envelope envelope{source, tag, Bytes(head.begin() + sizeof(total), head.end())};
  if (envelope.payload.size() > total) return Status::Communication("message from rank " + std::to_string(source) + " is corrupt");
  envelope.payload.resize(total);
  for (std::size_t offset = count - sizeof(total); offset < total; offset += max_chunk_bytes) {
    const int n = static_cast<int>(std::min<std::size_t>(max_chunk_bytes, total - offset));
    HPCNAS_RETURN_IF_ERROR(StartAndWait(
        [&](MPI_Request* r) { return MPI_Irecv(envelope.payload.data() + offset, n, MPI_BYTE, source, tag, MPI_COMM_WORLD, r); },
        deadline, what + " (the rest of a " + std::to_string(total) + "-byte message)", OnTimeout::kCancel));
  }
  return envelope;
}

}  // namespace

StatusOr<Envelope> MpiCommunicator::Receive(int source, int tag, Seconds timeout) {
  const auto deadline = DeadlineAfter(timeout);
  const int mpi_source = source == kAnySource ? MPI_ANY_SOURCE : source;
  MPI_Status status;
  int error = MPI_SUCCESS;
  const bool arrived = PollUntil(deadline, [&] {
    int flag = 0;
    error = MPI_Iprobe(mpi_source, tag, MPI_COMM_WORLD, &flag, &status);
    return error != MPI_SUCCESS || flag != 0;
  });
  HPCNAS_RETURN_IF_ERROR(Check(error, "MPI probe"));
  if (!arrived) {
    const std::string from = source == kAnySource ? "any rank" : "rank " + std::to_string(source);
    return Status::Timeout("no message (tag " + std::to_string(tag) + ") from " + from + " within " +
                           FormatSeconds(timeout));
  }
  return ReceiveProbed(status, max_chunk_bytes_, deadline);
}

StatusOr<std::optional<Envelope>> MpiCommunicator::TryReceive(int source, int tag, Seconds timeout) {
  const int mpi_source = source == kAnySource ? MPI_ANY_SOURCE : source;
  int flag = 0;
  MPI_Status status;
  HPCNAS_RETURN_IF_ERROR(Check(MPI_Iprobe(mpi_source, tag, MPI_COMM_WORLD, &flag, &status), "MPI probe"));
  if (!flag) return std::optional<Envelope>();
  HPCNAS_ASSIGN_OR_RETURN(Envelope envelope, ReceiveProbed(status, max_chunk_bytes_, DeadlineAfter(timeout)));
  return std::optional<Envelope>(std::move(envelope));
}

Status MpiCommunicator::Barrier(Seconds timeout) {
  return StartAndWait([](MPI_Request* r) { return MPI_Ibarrier(MPI_COMM_WORLD, r); }, DeadlineAfter(timeout), "MPI barrier");
}

Status MpiCommunicator::Broadcast(Bytes& bytes, int root, Seconds timeout) {
  const auto deadline = DeadlineAfter(timeout);
  std::uint64_t total = bytes.size();
  HPCNAS_RETURN_IF_ERROR(StartAndWait(
      [&](MPI_Request* r) { return MPI_Ibcast(&total, 1, MPI_UINT64_T, root, MPI_COMM_WORLD, r); }, deadline, "MPI broadcast"));
  if (rank_ != root) bytes.resize(total);
  for (std::size_t offset = 0; offset < total; offset += max_chunk_bytes_) {
    const int n = static_cast<int>(std::min<std::size_t>(max_chunk_bytes_, total - offset));
    HPCNAS_RETURN_IF_ERROR(StartAndWait(
        [&](MPI_Request* r) { return MPI_Ibcast(bytes.data() + offset, n, MPI_BYTE, root, MPI_COMM_WORLD, r); }, deadline,
        "MPI broadcast"));
  }
  return Status::Ok();
}

Status MpiCommunicator::AllReduceSum(double* data, std::size_t count, Seconds timeout) {
  return AllReduceSumChunks(data, count, timeout);
}

Status MpiCommunicator::AllReduceSum(float* data, std::size_t count, Seconds timeout) {
  return AllReduceSumChunks(data, count, timeout);
}

StatusOr<std::vector<Bytes>> MpiCommunicator::AllGather(const Bytes& mine, Seconds timeout) {
  const auto deadline = DeadlineAfter(timeout);
  std::uint64_t my_size = mine.size();
  std::vector<std::uint64_t> sizes(size_);
  HPCNAS_RETURN_IF_ERROR(StartAndWait(
      [&](MPI_Request* r) { return MPI_Iallgather(&my_size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, r); },
      deadline, "MPI all-gather"));

  std::vector<Bytes> all(size_);
  for (int r = 0; r < size_; ++r) all[r].resize(sizes[r]);
  // Rounds in which every rank contributes at most `chunk` bytes keep every count and
  // displacement below INT_MAX.
  const std::size_t chunk = std::max<std::size_t>(1, (INT_MAX / 2) / static_cast<std::size_t>(size_));
  const std::uint64_t largest = *std::max_element(sizes.begin(), sizes.end());
  for (std::uint64_t offset = 0; offset < largest; offset += chunk) {
    std::vector<int> counts(size_), displacements(size_);
    int running = 0;
    for (int r = 0; r < size_; ++r) {
      counts[r] = static_cast<int>(sizes[r] > offset ? std::min<std::uint64_t>(chunk, sizes[r] - offset) : 0);
      displacements[r] = running;
      running += counts[r];
    }
    Bytes gathered(running);
    HPCNAS_RETURN_IF_ERROR(StartAndWait(
        [&](MPI_Request* r) {
          return MPI_Iallgatherv(mine.data() + std::min<std::uint64_t>(offset, my_size), counts[rank_], MPI_BYTE, gathered.data(),
                                 counts.data(), displacements.data(), MPI_BYTE, MPI_COMM_WORLD, r);
        },
        deadline, "MPI all-gather"));
    for (int r = 0; r < size_; ++r) {
      std::copy(gathered.begin() + displacements[r], gathered.begin() + displacements[r] + counts[r],
                all[r].begin() + offset);
    }
  }
  return all;
}

void MpiCommunicator::Abort(const std::string& reason, int exit_code) {
  std::fprintf(stderr, "hpcnas: rank %d: fatal: %s\n", rank_, Printable(reason).c_str());
  std::fflush(stderr);
  if (peer_watch_) peer_watch_->KillStoppedPeers();
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace hpcnas
