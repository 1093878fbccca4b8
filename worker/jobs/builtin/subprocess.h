// Running a command for a record: input on stdin, stdout and stderr captured together (the last
// output_limit bytes kept), the whole process group terminated when the token is cancelled (SIGTERM,
// then SIGKILL after a grace period).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.h"

namespace wo::jobs {

struct SubprocessResult {
  int exit_code = -1;  // when exited normally
  int signal = 0;      // when killed by a signal
  std::string output;  // tail of stdout+stderr
  bool truncated = false;
  bool stopped = false;  // the token was cancelled and the command was sent SIGTERM (and maybe SIGKILL)
};

// The file execvp would run for name: name itself when it contains a '/', else the first executable
// regular file name in the directories of PATH (the system default path when PATH is unset; an empty
// entry is the current directory). Empty when there is none.
std::optional<std::string> find_executable(const std::string& name);

// Runs program (a path, e.g. from find_executable) with argv (argv[0] as the command names itself) and
// env ("NAME=value") as its whole environment: nothing of the worker's own is inherited.
// Throws std::runtime_error when the command cannot be started.
SubprocessResult run_subprocess(const std::string& program, const std::vector<std::string>& argv,
                                const std::vector<std::string>& env, std::string_view input, std::size_t output_limit,
                                const wo::worker::CancelToken& token,
                                std::chrono::milliseconds kill_grace = std::chrono::milliseconds(2000));

}  // namespace wo::jobs
