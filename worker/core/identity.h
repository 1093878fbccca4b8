// Who this worker process is: a fresh UUID per process start (pod names repeat across container
// restarts, so they cannot identify an owner) and the host name (metadata for operators).
#pragma once

#include <string>

namespace wo::worker {

std::string new_worker_id();  // random (version 4) UUID text
std::string hostname();       // $HOSTNAME, else gethostname(), else "unknown"

}  // namespace wo::worker
