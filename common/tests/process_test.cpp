#include "wo/process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>

namespace wo::process {
namespace {

TEST(Process, SigtermRequestsShutdown) {
  ShutdownSignal signal;
  EXPECT_FALSE(signal.requested());
  ::kill(::getpid(), SIGTERM);
  EXPECT_TRUE(signal.wait_for(std::chrono::seconds(10)));
  EXPECT_EQ(signal.reason(), "SIGTERM");
}

TEST(Process, SigintStopsTheToken) {
  ShutdownSignal signal;
  const std::stop_token token = signal.token();
  EXPECT_FALSE(token.stop_requested());
  ::kill(::getpid(), SIGINT);
  signal.wait();
  EXPECT_TRUE(token.stop_requested());
  EXPECT_EQ(signal.reason(), "SIGINT");
}

TEST(Process, AStopCallbackSeesTheReason) {
  ShutdownSignal signal;
  std::string seen;
  const std::stop_callback on_stop(signal.token(), [&] { seen = signal.reason(); });
  signal.request("routine failed");  // runs the callback on this thread, after the reason is set
  EXPECT_EQ(seen, "routine failed");
}

TEST(Process, InternalRequestKeepsFirstReason) {
  ShutdownSignal signal;
  signal.request("routine failed");
  signal.request("second");
  EXPECT_TRUE(signal.requested());
  EXPECT_EQ(signal.reason(), "routine failed");
}

TEST(Process, TerminationMessageOnlyWhenFileExists) {
  const auto dir = std::filesystem::temp_directory_path() / ("wo-term-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "termination-log").string();
  EXPECT_FALSE(write_termination_message("x", path));
  std::ofstream(path).close();
  EXPECT_TRUE(write_termination_message("UnknownJob: no job named x", path));
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "UnknownJob: no job named x");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wo::process
