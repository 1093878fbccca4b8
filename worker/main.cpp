// The worker binary: runs the job(s) named by --job. See docs/worker.md.
#include "build_info.h"
#include "core/app.h"

int main(int argc, char** argv) {
  return wo::worker::run_app(argc, argv, wo::build_info::git_commit());
}
