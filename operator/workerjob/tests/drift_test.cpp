#include "workerjob/drift.h"

#include "workerjob/render.h"

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

TEST(Drift, EmptyDesiredValuesMatchAbsentFields) {
  EXPECT_TRUE(contains(value::parse(R"({"a":1})"), value::parse(R"({"a":1,"b":{},"c":[]})")));
  // The server drops empty strings (env value "", envFrom prefix "", toleration key "").
  EXPECT_TRUE(
      contains(value::parse(R"({"env":[{"name":"X"}]})"), value::parse(R"({"env":[{"name":"X","value":""}]})")));
  EXPECT_FALSE(
      contains(value::parse(R"({"env":[{"name":"X"}]})"), value::parse(R"({"env":[{"name":"X","value":"v"}]})")));
  EXPECT_FALSE(contains(value::parse(R"({"a":1})"), value::parse(R"({"a":1,"b":{"x":1}})")));
}

TEST(Drift, DivisorsCompareAsQuantities) {
  // resourceFieldRef.divisor: 1 comes back as the string "1".
  const auto desired = value::parse(R"({"resourceFieldRef":{"resource":"limits.cpu","divisor":1}})");
  EXPECT_TRUE(contains(value::parse(R"({"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}})"), desired));
  EXPECT_FALSE(contains(value::parse(R"({"resourceFieldRef":{"resource":"limits.cpu","divisor":"1m"}})"), desired));
}

TEST(Drift, ScalarsMustMatchExactly) {
  EXPECT_FALSE(contains(value::parse(R"({"a":true})"), value::parse(R"({"a":false})")));
  EXPECT_FALSE(contains(value::parse(R"({"a":"1"})"), value::parse(R"({"a":1})")));
  EXPECT_TRUE(contains(value::parse(R"({"a":30})"), value::parse(R"({"a":30})")));
}

value with_hash(const std::string& json, const std::string& hash) {
  value v = value::parse(json);
  v["metadata"]["annotations"][std::string(kAppliedHashAnnotation)] = value::string(hash);
  return v;
}

TEST(ApplyNeed, MissingChangedDriftedOrNone) {
  const value desired = with_hash(R"({"metadata":{},"spec":{"replicas":1}})", "aaaa");
  EXPECT_EQ(apply_need(value::null(), desired), ApplyNeed::kMissing);
  EXPECT_EQ(apply_need(with_hash(R"({"metadata":{},"spec":{"replicas":1}})", "bbbb"), desired), ApplyNeed::kChanged);
  EXPECT_EQ(apply_need(value::parse(R"({"metadata":{},"spec":{"replicas":1}})"), desired), ApplyNeed::kChanged)
      << "an object without a fingerprint was applied by an older operator";
  EXPECT_EQ(apply_need(with_hash(R"({"metadata":{},"spec":{"replicas":1,"paused":false}})", "aaaa"), desired),
            ApplyNeed::kNone);
  EXPECT_EQ(apply_need(with_hash(R"({"metadata":{},"spec":{"replicas":3}})", "aaaa"), desired), ApplyNeed::kDrifted);
  EXPECT_EQ(apply_need(with_hash(R"({"metadata":{},"spec":{"replicas":3}})", "aaaa"), desired, false), ApplyNeed::kNone)
      << "without the contents check only the fingerprint decides";
}

// The defect the fingerprint fixes: a field removed from the WorkerJob is still on the live object, which
// therefore still contains the (smaller) rendering; only the fingerprint says the rendering changed.
TEST(ApplyNeed, AFieldRemovedFromTheRenderingIsAChange) {
  const std::string live_json = R"({"metadata":{},"spec":{"nodeSelector":{"disk":"ssd"},"replicas":1}})";
  const std::string desired_json = R"({"metadata":{},"spec":{"replicas":1}})";
  EXPECT_TRUE(contains(value::parse(live_json), value::parse(desired_json))) << "a subset test sees nothing to do";
  EXPECT_EQ(apply_need(with_hash(live_json, "with"), with_hash(desired_json, "without")), ApplyNeed::kChanged);
}

TEST(Fingerprint, RenderedObjectsCarryAStableFingerprintOfTheirContents) {
  const value a = with_fingerprint(value::parse(R"({"metadata":{"name":"x"},"spec":{"replicas":1}})"));
  const value b = with_fingerprint(value::parse(R"({"metadata":{"name":"x"},"spec":{"replicas":1}})"));
  const value c = with_fingerprint(value::parse(R"({"metadata":{"name":"x"},"spec":{"replicas":2}})"));
  EXPECT_EQ(fingerprint_of(a).size(), 16u);
  EXPECT_EQ(fingerprint_of(a), fingerprint_of(b));
  EXPECT_NE(fingerprint_of(a), fingerprint_of(c));
  EXPECT_EQ(fingerprint_of(value::parse(R"({"metadata":{}})")), "");
}

}  // namespace
}  // namespace wo::workerjob
