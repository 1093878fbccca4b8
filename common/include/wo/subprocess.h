// Running a program to completion: input on stdin, stdout and stderr captured (together or apart, the
// last output_limit bytes of each kept), and the whole process group stopped (SIGTERM, then SIGKILL
// after kill_grace) when the stop token is requested or the deadline passes. Used by the worker's
// command job and by the operator's exec credential plugins.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace wo::subprocess {

struct Command {
  std::string program;            // a path, e.g. from find_executable
  std::vector<std::string> argv;  // argv[0] as the command names itself
  std::vector<std::string> env;   // "NAME=value": the whole environment, nothing of the caller's inherited
  std::string input;              // written to stdin, which is then closed
  std::size_t output_limit = std::size_t{64} * 1024;
  bool merge_stderr = true;  // stderr into `output`; else captured apart into `error_output`
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::chrono::milliseconds kill_grace{2000};
};

struct Result {
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it
  std::string output;
  std::string error_output;  // empty when merged into output
  bool truncated = false;    // output or error_output lost its beginning to output_limit
  bool stopped = false;      // the stop token or the deadline sent SIGTERM (and maybe SIGKILL)
  bool timed_out = false;    // the deadline did
};

// The file execvp would run for name: name itself when it contains a '/', else the first executable
// regular file name in the directories of PATH (the system default path when PATH is unset; an empty
// entry is the current directory). Empty when there is none.
std::optional<std::string> find_executable(const std::string& name);

// Runs the command in a process group of its own, with default signal dispositions and an empty signal
// mask (the caller's blocked SIGTERM and ignored SIGPIPE are not inherited). Returns once it exited and
// its output pipes closed. Throws std::runtime_error when it cannot be started.
Result run(const Command& command, std::stop_token stop = {});

}  // namespace wo::subprocess
