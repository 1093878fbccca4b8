#include "workerjob/drift.h"

#include <gtest/gtest.h>

namespace wo::workerjob {
namespace {

using web::json::value;

TEST(Drift, ServerDefaultsAreNotDrift) {
  const auto desired = value::parse(R"({"spec":{"replicas":1,"template":{"spec":{"containers":[
      {"name":"worker","ports":[{"containerPort":8080,"name":"http"}]}]}}}})");
  const auto live = value::parse(R"({"metadata":{"resourceVersion":"9"},"spec":{"replicas":1,"revisionHistoryLimit":10,
      "template":{"spec":{"dnsPolicy":"ClusterFirst","containers":[{"name":"worker","imagePullPolicy":"IfNotPresent",
      "ports":[{"containerPort":8080,"name":"http","protocol":"TCP"}]}]}}},"status":{"replicas":1}})");
  EXPECT_TRUE(contains(live, desired));
}

TEST(Drift, HandEditIsDrift) {
  const auto desired = value::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"worker",
      "args":["--job=a"],"resources":{"limits":{"memory":"500M"}}}]}}}})");
  EXPECT_FALSE(contains(value::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"worker",
      "args":["--job=a"],"resources":{"limits":{"memory":"600M"}}}]}}}})"),
                        desired));
  EXPECT_FALSE(contains(value::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"worker",
      "args":["--job=a","--extra"],"resources":{"limits":{"memory":"500M"}}}]}}}})"),
                        desired));
  EXPECT_FALSE(contains(value::parse(R"({"spec":{}})"), desired));
}

TEST(Drift, QuantitiesCompareByValueOnlyUnderResources) {
  const auto desired = value::parse(R"({"resources":{"limits":{"cpu":"0.5","memory":"1Gi"}},"labels":{"v":"0.5"}})");
  EXPECT_TRUE(contains(
      value::parse(R"({"resources":{"limits":{"cpu":"500m","memory":"1024Mi"}},"labels":{"v":"0.5"}})"), desired));
  EXPECT_FALSE(contains(
      value::parse(R"({"resources":{"limits":{"cpu":"500m","memory":"1024Mi"}},"labels":{"v":"500m"}})"), desired));
}

TEST(Drift, EmptyDesiredCollectionsMatchAbsentFields) {
  EXPECT_TRUE(contains(value::parse(R"({"a":1})"), value::parse(R"({"a":1,"b":{},"c":[]})")));
  EXPECT_FALSE(contains(value::parse(R"({"a":1})"), value::parse(R"({"a":1,"b":{"x":1}})")));
}

TEST(Drift, ScalarsMustMatchExactly) {
  EXPECT_FALSE(contains(value::parse(R"({"a":true})"), value::parse(R"({"a":false})")));
  EXPECT_FALSE(contains(value::parse(R"({"a":"1"})"), value::parse(R"({"a":1})")));
  EXPECT_TRUE(contains(value::parse(R"({"a":30})"), value::parse(R"({"a":30})")));
}

}  // namespace
}  // namespace wo::workerjob
