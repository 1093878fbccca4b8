#include "api/quantity.h"

#include <gtest/gtest.h>

namespace wo::api {
namespace {

Quantity q(const char* text) {
  std::string error;
  auto v = Quantity::parse(text, &error);
  EXPECT_TRUE(v) << text << ": " << error;
  return v.value_or(*Quantity::parse("0"));
}

std::string parse_error(const char* text) {
  std::string error;
  EXPECT_FALSE(Quantity::parse(text, &error)) << text;
  return error;
}

TEST(Quantity, DecimalSuffixes) {
  EXPECT_EQ(q("1000m"), q("1"));
  EXPECT_EQ(q("1k"), q("1000"));
  EXPECT_EQ(q("1M"), q("1000k"));
  EXPECT_EQ(q("1G"), q("1000M"));
  EXPECT_EQ(q("1T"), q("1000G"));
  EXPECT_EQ(q("1P"), q("1000T"));
  EXPECT_EQ(q("1E"), q("1000P"));
  EXPECT_EQ(q("1000n"), q("1u"));
  EXPECT_EQ(q("1000u"), q("1m"));
}

TEST(Quantity, BinarySuffixes) {
  EXPECT_EQ(q("1Ki"), q("1024"));
  EXPECT_EQ(q("1Mi"), q("1024Ki"));
  EXPECT_EQ(q("1Gi"), q("1024Mi"));
  EXPECT_EQ(q("1Ti"), q("1024Gi"));
  EXPECT_EQ(q("1Pi"), q("1024Ti"));
  EXPECT_EQ(q("1Ei"), q("1024Pi"));
  EXPECT_EQ(q("0.5Gi"), q("512Mi"));
}

TEST(Quantity, Exponents) {
  EXPECT_EQ(q("1e3"), q("1k"));
  EXPECT_EQ(q("1E3"), q("1k"));
  EXPECT_EQ(q("1e-3"), q("1m"));
  EXPECT_EQ(q("1.5e+2"), q("150"));
}

TEST(Quantity, FractionsAndSigns) {
  EXPECT_EQ(q("0.5"), q("500m"));
  EXPECT_EQ(q(".5"), q("500m"));
  EXPECT_EQ(q("5."), q("5"));
  EXPECT_EQ(q("+1"), q("1"));
  EXPECT_EQ(q("-1").sign(), -1);
  EXPECT_EQ(q("0").sign(), 0);
  EXPECT_EQ(q("-0").sign(), 0);
}

TEST(Quantity, ComparesExactlyWhereFloatingPointWouldNot) {
  // 0.1 + 0.2 style traps: decimal fractions compare exactly.
  EXPECT_EQ(q("0.3"), q("300m"));
  EXPECT_LT(q("999999999999999999"), q("1E"));
  EXPECT_LT(q("1E"), q("1000000000000000001"));
  EXPECT_LT(q("1G"), q("1Gi"));
  EXPECT_LT(q("100M"), q("500M"));
  EXPECT_LT(q("500M"), q("1Gi"));
  EXPECT_GT(q("1"), q("100m"));
  EXPECT_EQ(q("1").compare(q("999m")), 1);
  EXPECT_EQ(q("999m").compare(q("1")), -1);
}

TEST(Quantity, FinerThanNanoRoundsAwayFromZero) {
  EXPECT_EQ(q("0.1n"), q("1n"));
  EXPECT_EQ(q("1.0000000001"), q("1000000001n"));
  EXPECT_EQ(q("-0.1n"), q("-1n"));
}

TEST(Quantity, KeepsItsText) {
  EXPECT_EQ(q("500Mi").text(), "500Mi");
}

TEST(Quantity, RejectsMalformedText) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("abc").find("does not start with a number"), std::string::npos);
  EXPECT_NE(parse_error("1Mb").find("unknown suffix \"Mb\""), std::string::npos);
  EXPECT_NE(parse_error("1 Gi").find("unknown suffix"), std::string::npos);
  EXPECT_NE(parse_error("1e").find("no digits"), std::string::npos);
  EXPECT_NE(parse_error("1e+").find("no digits"), std::string::npos);
  EXPECT_NE(parse_error("1e3.5").find("not a whole number"), std::string::npos);
  parse_error(".");
  parse_error("1..2");
  parse_error("--1");
  parse_error("1ki");
}

TEST(Quantity, BoundsAbsurdValuesWithAClearError) {
  EXPECT_TRUE(Quantity::parse("9223372036854775806"));
  EXPECT_NE(parse_error("9223372036854775807").find("too large"), std::string::npos);
  EXPECT_TRUE(Quantity::parse("8Ei") == std::nullopt);
  EXPECT_NE(parse_error("9223372036854775808").find("too large"), std::string::npos);
  EXPECT_NE(parse_error("1e64").find("too large"), std::string::npos);
  EXPECT_NE(parse_error("1e65").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error("1e999999999999999999999").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error(std::string(65, '1').c_str()).find("longer than 64"), std::string::npos);
  EXPECT_EQ(q("1e-64"), q("1n"));  // tiny but positive rounds up to the smallest unit
}

}  // namespace
}  // namespace wo::api
