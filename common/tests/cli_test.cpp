#include "wo/cli.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>

namespace wo::cli {
namespace {

using std::chrono::milliseconds;

// Sets an environment variable for the length of one test and removes it afterwards, also when the test fails.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value, 1);  // NOLINT(concurrency-mt-unsafe): these tests run on one thread
  }
  ~ScopedEnv() {
    ::unsetenv(name_.c_str());  // NOLINT(concurrency-mt-unsafe): these tests run on one thread
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

FlagSet make() {
  FlagSet f("prog", "Does things.");
  f.add_string("name", "WO_TEST_NAME", "def", "A name");
  f.add_repeated("job", "WO_TEST_JOBS", "Jobs");
  f.add_bool("verbose", "", false, "Verbose");
  f.add_int("count", "", 3, "Count");
  f.add_duration("timeout", "", milliseconds(25000), "Timeout");
  return f;
}

TEST(Cli, ParsesBothFlagForms) {
  auto f = make();
  const char* argv[] = {"prog", "--name=x", "--job", "a", "--job=b", "--verbose", "--count", "7", "--timeout=1m30s"};
  f.parse(9, argv);
  EXPECT_EQ(f.get_string("name"), "x");
  EXPECT_EQ(f.get_repeated("job"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f.get_bool("verbose"));
  EXPECT_EQ(f.get_int("count"), 7);
  EXPECT_EQ(f.get_duration("timeout"), milliseconds(90000));
}

TEST(Cli, DefaultsAndEnvironmentFallback) {
  const ScopedEnv name("WO_TEST_NAME", "from-env");
  const ScopedEnv jobs("WO_TEST_JOBS", "x,y");
  auto f = make();
  const char* argv[] = {"prog"};
  f.parse(1, argv);
  EXPECT_EQ(f.get_string("name"), "from-env");
  EXPECT_EQ(f.get_repeated("job"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(f.get_duration("timeout"), milliseconds(25000));
  EXPECT_FALSE(f.is_set("count"));
}

TEST(Cli, CommandLineBeatsEnvironment) {
  const ScopedEnv name("WO_TEST_NAME", "from-env");
  auto f = make();
  const char* argv[] = {"prog", "--name", "cli"};
  f.parse(3, argv);
  EXPECT_EQ(f.get_string("name"), "cli");
}

TEST(Cli, ErrorsNameTheFlag) {
  auto expect_error = [](std::vector<const char*> argv, const std::string& needle) {
    auto f = make();
    try {
      f.parse(static_cast<int>(argv.size()), argv.data());
      ADD_FAILURE() << "no error for " << needle;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({"prog", "--nope"}, "unknown flag --nope");
  expect_error({"prog", "--count=abc"}, "--count");
  expect_error({"prog", "--timeout=5 parsecs"}, "--timeout");
  expect_error({"prog", "--name"}, "needs a value");
  expect_error({"prog", "stray"}, "unexpected argument");
  expect_error({"prog", "--verbose=maybe"}, "--verbose");
}

TEST(Cli, Durations) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_THROW(parse_duration("5"), std::invalid_argument);
  EXPECT_THROW(parse_duration("s"), std::invalid_argument);
  EXPECT_THROW(parse_duration(""), std::invalid_argument);
  EXPECT_EQ(format_duration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
}

TEST(Cli, UsageListsFlagsWithEnvAndDefaults) {
  const std::string u = make().usage();
  EXPECT_NE(u.find("--name=VALUE"), std::string::npos) << u;
  EXPECT_NE(u.find("(default def) [$WO_TEST_NAME]"), std::string::npos) << u;
}

}  // namespace
}  // namespace wo::cli
