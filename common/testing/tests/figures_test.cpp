#include "testing/figures.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace wo::testing {
namespace {

TEST(Figures, TheMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  const Summary s = summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
  EXPECT_EQ(s.samples, (std::vector<double>{4, 1, 3, 2})) << "samples stay in round order";
}

TEST(Figures, NoSamplesIsABugNotAFigure) {
  EXPECT_THROW(summarize({}), std::logic_error);
}

TEST(Figures, PercentilesAreNearestRank) {
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  EXPECT_DOUBLE_EQ(percentile(hundred, 0.5), 50);
  EXPECT_DOUBLE_EQ(percentile(hundred, 0.99), 99);
  EXPECT_DOUBLE_EQ(percentile(hundred, 1), 100);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.5), 7);
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0);
}

}  // namespace
}  // namespace wo::testing
