// crds/workerjob.yaml and the C++ API must agree: names, defaults, bounds and the wording of each CEL
// rule's message; and every field of the schema has a description (kubectl explain shows it).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

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

// --- CEL messages ------------------------------------------------------------------------------

struct CelRule {
  std::string rule;
  std::string message;             // a fixed message, or
  std::string message_expression;  // one computed from the object
};

void collect_cel_rules(const value& schema, std::vector<CelRule>& out) {
  if (schema.is_array()) {
    for (const auto& item : schema.as_array()) collect_cel_rules(item, out);
    return;
  }
  if (!schema.is_object()) return;
  for (const auto& [key, child] : schema.as_object()) {
    if (key == "x-kubernetes-validations") {
      for (const auto& r : child.as_array()) {
        out.push_back({r.at("rule").as_string(), r.has_field("message") ? r.at("message").as_string() : "",
                       r.has_field("messageExpression") ? r.at("messageExpression").as_string() : ""});
      }
    } else {
      collect_cel_rules(child, out);
    }
  }
}

// WorkerJobs that break one CEL rule each (spec.job's immutability is validate_update's, below).
std::vector<FieldError> errors_breaking_each_rule() {
  const std::string head = "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: wj, namespace: team}\n";
  const std::vector<std::string> docs = {
      "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: " + std::string(64, 'a') +
          ", namespace: team}\nspec: {job: a}\n",
      head + "spec: {job: Not.A.Job}\n",
      head + "spec: {job: a, image: 'a b'}\n",
      head + "spec: {job: a, resources: {requests: {cpu: 1Mb}}}\n",
      head + "spec: {job: a, resources: {limits: {memory: 99999999999999999999Ei}}}\n",
      head + "spec: {job: a, resources: {limits: {'bad name': 1}}}\n",
      head + "spec: {job: a, args: [--job=b]}\n",
      head + "spec: {job: a, env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: a}}}]}\n",
      head + "spec: {job: a, env: [{name: A, valueFrom: {}}]}\n",
      head + "spec: {job: a, envFrom: [{prefix: P_}]}\n",
      head + "spec: {job: a, template: {labels: {worker.dev/job: x}}}\n",
      head + "spec: {job: a, template: {labels: {'a b': x}}}\n",
      head + "spec: {job: a, template: {labels: {team: 'a b'}}}\n",
      head + "spec: {job: a, template: {annotations: {worker.dev/config-hash: x}}}\n",
      head + "spec: {job: a, template: {annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}}}\n",
  };
  std::vector<FieldError> errors;
  for (const auto& doc : docs) {
    std::string error;
    const auto parsed = yaml_to_json(doc, &error);
    EXPECT_TRUE(parsed) << error;
    if (!parsed) continue;
    const auto result = parse_workerjob(parsed->front());
    EXPECT_FALSE(result.ok()) << doc;
    errors.insert(errors.end(), result.errors.begin(), result.errors.end());
  }
  return errors;
}

// Whether the C++ error says what the CEL message says. A CEL message may start with the field path
// ("spec.job must be ..."), which the C++ error names as its path instead.
bool says(const FieldError& error, const std::string& cel_message) {
  std::string wording = cel_message;
  if (const auto space = wording.find(' ');
      space != std::string::npos && error.path.rfind(wording.substr(0, space), 0) == 0) {
    wording.erase(0, space + 1);
  }
  return error.message.find(wording) != std::string::npos;
}

TEST_F(Crd, EveryCelMessageIsWordedTheSameByTheParser) {
  std::vector<CelRule> rules;
  collect_cel_rules(root(), rules);
  const std::vector<FieldError> errors = errors_breaking_each_rule();
  WorkerJobSpec before;
  before.job = "a";
  WorkerJobSpec after;
  after.job = "b";
  const FieldError immutable = validate_update(before, after).at(0);
  int fixed = 0;
  for (const auto& rule : rules) {
    if (rule.message.empty()) continue;
    ++fixed;
    if (rule.rule == "self == oldSelf") {
      EXPECT_TRUE(says(immutable, rule.message)) << immutable.to_string() << "\nCEL: " << rule.message;
      continue;
    }
    // CEL's cost budget allows a message naming the values only for cpu and memory (the expressions
    // below); the parser names them for every resource, so the general message has no counterpart.
    if (rule.message.starts_with("each limit must be at least its request")) continue;
    const bool said =
        std::any_of(errors.begin(), errors.end(), [&](const FieldError& e) { return says(e, rule.message); });
    EXPECT_TRUE(said) << "no parser error says the CEL message \"" << rule.message << "\" (rule " << rule.rule << ")";
  }
  EXPECT_GE(fixed, 15) << "fewer CEL messages than expected: is the walk of the schema still right?";
}

// A messageExpression of the form 'text' + string(self.limits['r']) + 'text' + ..., evaluated for one
// limit and one request.
std::string evaluate_limit_message(const std::string& expression, const std::string& limit,
                                   const std::string& request) {
  static const std::regex term(R"('([^']*)'|string\(self\.(limits|requests)\['[a-z]+'\]\))");
  std::string out;
  for (auto it = std::sregex_iterator(expression.begin(), expression.end(), term); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    out += m[1].matched ? m[1].str() : (m[2] == "limits" ? limit : request);
  }
  return out;
}

TEST_F(Crd, EachLimitMessageExpressionIsWordedTheSameByTheParser) {
  std::vector<CelRule> rules;
  collect_cel_rules(root(), rules);
  int expressions = 0;
  for (const auto& rule : rules) {
    if (rule.message_expression.empty()) continue;
    ++expressions;
    const std::string resource = rule.message_expression.find("'limits.cpu (") != std::string::npos ? "cpu" : "memory";
    std::string error;
    std::string text = "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: wj, namespace: team}\n";
    text.append("spec: {job: a, resources: {requests: {").append(resource).append(": '2'}, limits: {");
    text.append(resource).append(": '1'}}}\n");
    const auto doc = yaml_to_json(text, &error);
    ASSERT_TRUE(doc) << error;
    const auto parsed = parse_workerjob(doc->front());
    ASSERT_EQ(parsed.errors.size(), 1u) << parsed.error_text();
    EXPECT_EQ(parsed.errors[0].message, evaluate_limit_message(rule.message_expression, "1", "2"))
        << "CEL: " << rule.message_expression;
  }
  EXPECT_EQ(expressions, 2) << "one messageExpression each for cpu and memory";
}

}  // namespace
}  // namespace wo::api
