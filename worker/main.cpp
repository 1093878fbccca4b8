// The worker binary: runs the job(s) named by --job, or `worker queue ...` on a queue table. See
// docs/worker.md.
#include <string_view>

#include "build_info.h"
#include "cli/queue_cli.h"
#include "core/app.h"

int main(int argc, char** argv) {
  const std::string_view commit = wo::build_info::git_commit();
  if (argc > 1 && std::string_view(argv[1]) == "queue") {
    return wo::worker::cli::run_queue_cli(argc - 1, argv + 1, commit);
  }
  return wo::worker::run_app(argc, argv, commit);
}
