// The worker's main program: flags, job selection, configuration, endpoints, routines, shutdown.
//
// Exit status: 0 after a clean shutdown, 2 for a usage or configuration error, 1 for a runtime failure.
// Fatal errors are also written to the termination log (docs/worker.md, "Termination messages"): the
// first line is "<Reason>: <message>" with Reason one of UsageError, UnknownJob, InvalidConfig,
// RoutineFailed, RuntimeError, ShutdownTimeout (a routine did not stop by the shutdown deadline: the
// process ends without waiting for it).
#pragma once

#include <string_view>

namespace wo::worker {

// commit: the git commit the binary was built from, for --version and worker_build_info (the binary
// knows its build; the framework is told).
int run_app(int argc, const char* const argv[], std::string_view commit);

}  // namespace wo::worker
