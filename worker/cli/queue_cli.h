// `worker queue SUBCOMMAND`: inspect and repair a queue table from the command line, with the same
// database settings and configuration file as a job (docs/worker.md, "Queue CLI"). It parses, calls the
// queue framework's operations (queue/admin.h, queue/enqueue.h) and prints; the queue semantics live there.
//
// Exit status: 0 done, 2 bad input (unknown subcommand, flag, state or table, missing --table, bad --id or
// duration), 1 a database error. Unlike a job, it never writes the termination log: run by `kubectl exec`
// in a job's pod, it must not overwrite the message of the pod's own container.
#pragma once

#include <string_view>

namespace wo::worker::cli {

// argv[0] is "queue"; argv[1] the subcommand. commit: the binary's, for --version (as run_app's).
int run_queue_cli(int argc, const char* const argv[], std::string_view commit);

}  // namespace wo::worker::cli
