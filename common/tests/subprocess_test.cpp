#include "wo/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

namespace wo::subprocess {
namespace {

using namespace std::chrono_literals;

Command shell(const std::string& script) {
  Command c;
  c.program = "/bin/sh";
  c.argv = {"sh", "-c", script};
  c.env = {"PATH=/usr/bin:/bin"};
  return c;
}

TEST(Subprocess, ExitStatusAndOutputTogether) {
  const Result r = run(shell("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_TRUE(r.error_output.empty());
  EXPECT_FALSE(r.stopped);
}

TEST(Subprocess, StderrApartWhenAsked) {
  Command c = shell("echo out; echo err >&2");
  c.merge_stderr = false;
  const Result r = run(c);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "out\n");
  EXPECT_EQ(r.error_output, "err\n");
}

TEST(Subprocess, InputOnStdinAndOnlyTheGivenEnvironment) {
  Command c = shell("cat; printf '%s' \"${HOME-unset}\"");
  c.input = "payload\n";
  EXPECT_EQ(run(c).output, "payload\nunset");
}

TEST(Subprocess, InputLargerThanAPipeToACommandThatDoesNotReadIt) {
  Command c = shell("exit 0");
  c.input.assign(1 << 20, 'x');
  EXPECT_EQ(run(c).exit_code, 0);
}

TEST(Subprocess, KeepsTheTailOfLongOutput) {
  Command c = shell("seq 1 10000");
  c.output_limit = 10;
  const Result r = run(c);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.output, "999\n10000\n");  // the last 10 bytes
}

TEST(Subprocess, StopTerminatesTheWholeGroup) {
  // A background grandchild holds the output pipe: without the group signal the run would not return.
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(200ms);  // the observation window: the command is running
    stop.request_stop();
  });
  const Result r = run(shell("sleep 60 & sleep 60"), stop.get_token());
  EXPECT_TRUE(r.stopped);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(Subprocess, AStopAlreadyRequestedStopsAtOnce) {
  std::stop_source stop;
  stop.request_stop();
  const Result r = run(shell("sleep 60"), stop.get_token());
  EXPECT_TRUE(r.stopped);
}

TEST(Subprocess, KillAfterTheGraceWhenTermIsIgnored) {
  Command c = shell("trap '' TERM; echo ready; sleep 60 & wait");
  c.kill_grace = 200ms;
  c.deadline = std::chrono::steady_clock::now() + 300ms;
  const Result r = run(c);
  EXPECT_TRUE(r.stopped);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.output, "ready\n");
}

TEST(Subprocess, AProgramThatCannotStartThrows) {
  Command c;
  c.program = "/nonexistent/program";
  c.argv = {"program"};
  EXPECT_THROW(run(c), std::runtime_error);
  c.argv.clear();
  EXPECT_THROW(run(c), std::runtime_error);
}

TEST(Subprocess, FindExecutable) {
  EXPECT_EQ(find_executable("/bin/sh"), "/bin/sh");
  EXPECT_FALSE(find_executable("/nonexistent/sh"));
  EXPECT_FALSE(find_executable(""));
  EXPECT_TRUE(find_executable("sh"));
  EXPECT_FALSE(find_executable("no-such-command-anywhere"));
}

}  // namespace
}  // namespace wo::subprocess
