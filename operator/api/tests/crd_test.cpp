// crds/workerjob.yaml and the C++ API must agree: names, defaults and bounds; and every field of
// the schema has a description (kubectl explain shows it).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/workerjob.h"
#include "api/yaml_json.h"

namespace wo::api {
namespace {

using web::json::value;

value load_yaml(const std::string& relative_path) {
  std::ifstream in(std::string(WO_SOURCE_DIR) + "/" + relative_path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string error;
  auto docs = yaml_to_json(ss.str(), &error);
  EXPECT_TRUE(docs) << error;
  EXPECT_EQ(docs ? docs->size() : 0u, 1u);
  return docs && !docs->empty() ? docs->front() : value::object();
}

value load_crd() {
  return load_yaml("crds/workerjob.yaml");
}

class Crd : public ::testing::Test {
 protected:
  const value crd = load_crd();
  const value& version() const { return crd.at("spec").at("versions").as_array().at(0); }
  const value& root() const { return version().at("schema").at("openAPIV3Schema"); }
  const value& spec() const { return root().at("properties").at("spec").at("properties"); }
  const value& tmpl() const { return spec().at("template").at("properties"); }
};

TEST_F(Crd, Names) {
  EXPECT_EQ(crd.at("metadata").at("name").as_string(), std::string(kPlural) + "." + std::string(kGroup));
  EXPECT_EQ(crd.at("spec").at("group").as_string(), kGroup);
  EXPECT_EQ(crd.at("spec").at("scope").as_string(), "Namespaced");
  const value& names = crd.at("spec").at("names");
  EXPECT_EQ(names.at("kind").as_string(), kKind);
  EXPECT_EQ(names.at("plural").as_string(), kPlural);
  EXPECT_EQ(names.at("singular").as_string(), "workerjob");
  EXPECT_EQ(names.at("shortNames").serialize(), R"(["wj"])");
  EXPECT_FALSE(names.has_field("categories"));
  EXPECT_EQ(version().at("name").as_string(), kVersion);
  EXPECT_TRUE(version().at("served").as_bool());
  EXPECT_TRUE(version().at("storage").as_bool());
}

TEST_F(Crd, SubresourcesAndColumns) {
  const value& sub = version().at("subresources");
  EXPECT_TRUE(sub.has_field("status"));
  EXPECT_EQ(sub.at("scale").serialize(),
            R"({"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas",)"
            R"("labelSelectorPath":".status.selector"})");
  std::string columns;
  for (const auto& c : version().at("additionalPrinterColumns").as_array()) {
    columns += c.at("name").as_string() + "=" + c.at("jsonPath").as_string() + ";";
  }
  EXPECT_EQ(columns,
            "Job=.spec.job;Ready=.status.ready;Status=.status.conditions[?(@.type==\"Ready\")].reason;"
            "Age=.metadata.creationTimestamp;Paused=.spec.paused;Image=.spec.image;");
}

TEST_F(Crd, DefaultsMatchTheCppDefaults) {
  const WorkerJobSpec defaults;
  EXPECT_EQ(spec().at("replicas").at("default").as_integer(), defaults.replicas);
  EXPECT_EQ(spec().at("paused").at("default").as_bool(), defaults.paused);
  EXPECT_EQ(tmpl().at("terminationGracePeriodSeconds").at("default").as_number().to_int64(),
            defaults.template_.termination_grace_period_seconds);
}

TEST_F(Crd, BoundsMatchTheCppBounds) {
  EXPECT_EQ(spec().at("job").at("maxLength").as_integer(), kMaxJobLength);
  EXPECT_EQ(spec().at("image").at("maxLength").as_integer(), kMaxImageLength);
  EXPECT_EQ(spec().at("replicas").at("minimum").as_integer(), 0);
  EXPECT_EQ(spec().at("replicas").at("maximum").as_integer(), kMaxReplicas);
  EXPECT_EQ(spec().at("args").at("maxItems").as_integer(), kMaxArgs);
  EXPECT_EQ(spec().at("args").at("items").at("maxLength").as_integer(), kMaxArgLength);
  EXPECT_EQ(spec().at("env").at("maxItems").as_integer(), kMaxEnv);
  EXPECT_EQ(spec().at("env").at("items").at("properties").at("value").at("maxLength").as_integer(), kMaxEnvValueLength);
  EXPECT_EQ(spec().at("envFrom").at("maxItems").as_integer(), kMaxEnvFrom);
  for (const char* side : {"requests", "limits"}) {
    const value& list = spec().at("resources").at("properties").at(side);
    EXPECT_EQ(list.at("maxProperties").as_integer(), kMaxResources) << side;
    EXPECT_EQ(list.at("additionalProperties").at("maxLength").as_integer(), 64) << side;  // Quantity's limit
  }
  for (const char* map : {"labels", "annotations", "nodeSelector"}) {
    EXPECT_EQ(tmpl().at(map).at("maxProperties").as_integer(), kMaxMapEntries) << map;
  }
  EXPECT_EQ(tmpl().at("annotations").at("additionalProperties").at("maxLength").as_integer(),
            kMaxAnnotationValueLength);
  EXPECT_EQ(tmpl().at("tolerations").at("maxItems").as_integer(), kMaxTolerations);
  EXPECT_EQ(tmpl().at("imagePullSecrets").at("maxItems").as_integer(), kMaxImagePullSecrets);
  EXPECT_EQ(tmpl().at("terminationGracePeriodSeconds").at("maximum").as_number().to_int64(),
            kMaxTerminationGracePeriodSeconds);
}

TEST_F(Crd, JobIsRequiredAndImmutable) {
  EXPECT_EQ(root().at("properties").at("spec").at("required").serialize(), R"(["job"])");
  bool immutable = false;
  for (const auto& rule : spec().at("job").at("x-kubernetes-validations").as_array()) {
    immutable = immutable || rule.at("rule").as_string() == "self == oldSelf";
  }
  EXPECT_TRUE(immutable);
}

// Every property below spec and status has a description.
void expect_descriptions(const value& schema, const std::string& path) {
  if (!schema.is_object()) return;
  if (schema.has_field("properties")) {
    for (const auto& [name, child] : schema.at("properties").as_object()) {
      const std::string p = std::string(path).append(".").append(name);
      EXPECT_TRUE(child.has_field("description")) << p << " has no description";
      expect_descriptions(child, p);
    }
  }
  if (schema.has_field("items")) expect_descriptions(schema.at("items"), path + "[]");
  if (schema.has_field("additionalProperties")) expect_descriptions(schema.at("additionalProperties"), path + "{}");
}

TEST_F(Crd, EveryFieldHasADescription) {
  EXPECT_TRUE(root().has_field("description"));
  for (const char* top : {"spec", "status"}) {
    EXPECT_TRUE(root().at("properties").at(top).has_field("description")) << top;
    expect_descriptions(root().at("properties").at(top), top);
  }
}

// A property added to the CRD must be known to the parser and rendered: every-field.yaml, the input of the
// golden test (whose parse rejects unknown fields) and of the e2e add-then-remove test, sets every one.
TEST_F(Crd, EveryFieldSetsEverySpecProperty) {
  const value every = load_yaml("operator/workerjob/tests/testdata/every-field.yaml").at("spec");
  for (const auto& [name, unused] : spec().as_object()) {
    EXPECT_TRUE(every.has_field(name)) << "every-field.yaml does not set spec." << name;
  }
  for (const auto& [name, unused] : tmpl().as_object()) {
    EXPECT_TRUE(every.has_field("template") && every.at("template").has_field(name))
        << "every-field.yaml does not set spec.template." << name;
  }
  const auto parsed = parse_workerjob(load_yaml("operator/workerjob/tests/testdata/every-field.yaml"));
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
}

}  // namespace
}  // namespace wo::api
