#include "testing/wait.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace wo::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(WaitUntilTest, ReturnsAsSoonAsTheConditionHolds) {
  int evaluations = 0;
  EXPECT_TRUE(wait_until([&] { return ++evaluations == 3; }, std::chrono::seconds(10), milliseconds(1)));
  EXPECT_EQ(evaluations, 3);
}

TEST(WaitUntilTest, GivesUpAtTheDeadlineAfterALastLook) {
  int evaluations = 0;
  const auto start = steady_clock::now();
  EXPECT_FALSE(wait_until([&] { return ++evaluations < 0; }, milliseconds(30), milliseconds(100)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(30));
  EXPECT_EQ(evaluations, 2) << "once at the start and once at the deadline, the poll interval being longer";
}

TEST(WaitUntilTest, AnExceptionMeansNotYet) {
  int evaluations = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        if (++evaluations < 3) throw std::runtime_error("not created yet");
        return true;
      },
      std::chrono::seconds(10), milliseconds(1)));
}

TEST(WaitUntilTest, AConditionThatKeepsThrowingIsReportedAtTheDeadline) {
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(
      wait_until([]() -> bool { throw std::runtime_error("no such object"); }, milliseconds(5), milliseconds(1)));
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("no such object"), std::string::npos);
}

}  // namespace
}  // namespace wo::testing
