#include "engine/comm/communicator.h"

#include <cstring>

namespace hpcnas {

Status AgreeOnStatus(Communicator& comm, const Status& mine, Seconds timeout) {
  // Encoded as [kind: int32][message bytes].
  const auto kind = static_cast<std::int32_t>(mine.kind());
  Bytes encoded(sizeof(kind) + mine.message().size());
  std::memcpy(encoded.data(), &kind, sizeof(kind));
  std::memcpy(encoded.data() + sizeof(kind), mine.message().data(), mine.message().size());
  HPCNAS_ASSIGN_OR_RETURN(std::vector<Bytes> all, comm.AllGather(encoded, timeout));
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    if (all[r].size() < sizeof(std::int32_t)) return Status::Communication("malformed status from rank " + std::to_string(r));
    std::int32_t peer_kind = 0;
    std::memcpy(&peer_kind, all[r].data(), sizeof(peer_kind));
    if (static_cast<ErrorKind>(peer_kind) == ErrorKind::kOk) continue;
    std::string message(all[r].begin() + sizeof(std::int32_t), all[r].end());
    if (r == comm.rank()) return mine;
    return Status(static_cast<ErrorKind>(peer_kind), "rank " + std::to_string(r) + ": " + message);
  }
  return Status::Ok();
}

}  // namespace hpcnas
