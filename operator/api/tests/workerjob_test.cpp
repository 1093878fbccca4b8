// One test per field and per validation rule of the WorkerJob API (crds/workerjob.yaml).
#include "api/workerjob.h"

#include <gtest/gtest.h>

#include "api/json_text.h"
#include "api/tests/workerjob_json.h"
#include "api/yaml_json.h"

namespace wo::api {
namespace {

using testing::to_json;  // a whole WorkerJob or spec; api::to_json (found by ADL) writes status and resources

web::json::value yaml(const std::string& text) {
  std::string error;
  auto docs = yaml_to_json(text, &error);
  EXPECT_TRUE(docs && docs->size() == 1) << error;
  return docs && !docs->empty() ? docs->front() : web::json::value::null();
}

// A WorkerJob whose spec is `spec_yaml` (indented by the caller as a YAML block under spec:).
Parsed<WorkerJob> parse_spec(const std::string& spec_yaml) {
  return parse_workerjob(
      yaml("apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\n"
           "metadata: {name: wj, namespace: team, uid: u-1, generation: 2}\n"
           "spec:\n" +
           spec_yaml));
}

WorkerJobSpec valid(const std::string& spec_yaml) {
  auto p = parse_spec(spec_yaml);
  EXPECT_TRUE(p.ok()) << p.error_text();
  return p.ok() ? p.value->spec : WorkerJobSpec{};
}

// Expects exactly one error at `path` whose message contains `fragment`.
void expect_error(const std::string& spec_yaml, const std::string& path, const std::string& fragment) {
  auto p = parse_spec(spec_yaml);
  EXPECT_FALSE(p.ok()) << spec_yaml;
  ASSERT_EQ(p.errors.size(), 1u) << p.error_text();
  EXPECT_EQ(p.errors[0].path, path) << p.error_text();
  EXPECT_NE(p.errors[0].message.find(fragment), std::string::npos) << p.error_text();
}

// NOLINTNEXTLINE(cert-err58-cpp): a test constant; an exception here (only bad_alloc) aborts the test binary
const std::string kJob = "  job: campaigns.reconciler\n";

// --- the object ------------------------------------------------------------------------------

TEST(WorkerJob, ParsesAMinimalObjectWithDefaults) {
  auto p = parse_spec(kJob);
  ASSERT_TRUE(p.ok()) << p.error_text();
  const WorkerJob& wj = *p.value;
  EXPECT_EQ(wj.metadata.name, "wj");
  EXPECT_EQ(wj.metadata.namespace_, "team");
  EXPECT_EQ(wj.metadata.uid, "u-1");
  EXPECT_EQ(wj.metadata.generation, 2);
  EXPECT_EQ(wj.spec.job, "campaigns.reconciler");
  EXPECT_EQ(wj.spec.image, "");
  EXPECT_EQ(wj.spec.replicas, 1);
  EXPECT_FALSE(wj.spec.paused);
  EXPECT_TRUE(wj.spec.resources.requests.empty());
  EXPECT_TRUE(wj.spec.args.empty());
  EXPECT_TRUE(wj.spec.env.is_null());
  EXPECT_TRUE(wj.spec.env_from.is_null());
  EXPECT_TRUE(wj.spec.config.is_null());
  EXPECT_EQ(wj.spec.template_.termination_grace_period_seconds, 30);
}

TEST(WorkerJob, ApiVersionAndKindMustMatch) {
  auto p = parse_workerjob(yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: b}\nspec: {job: a}"));
  ASSERT_EQ(p.errors.size(), 2u) << p.error_text();
  EXPECT_EQ(p.errors[0].to_string(), "apiVersion: must be worker.dev/v1alpha1, not \"v1\"");
  EXPECT_EQ(p.errors[1].to_string(), "kind: must be WorkerJob, not \"Pod\"");
}

TEST(WorkerJob, SpecAndMetadataAreRequired) {
  auto p = parse_workerjob(yaml("apiVersion: worker.dev/v1alpha1\nkind: WorkerJob"));
  EXPECT_EQ(p.error_text(), "metadata: is required\nspec: is required");
}

TEST(WorkerJob, UnknownTopLevelFieldsAreErrors) {
  auto p =
      parse_workerjob(yaml("apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: a, "
                           "namespace: b}\nspec: {job: a}\nsepc: {}"));
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].path, "sepc");
  EXPECT_NE(p.errors[0].message.find("unknown field"), std::string::npos);
}

TEST(WorkerJob, NotAnObject) {
  auto p = parse_workerjob(web::json::value::parse("[1]"));
  EXPECT_EQ(p.error_text(), "must be an object, not a list");
}

TEST(WorkerJob, MalformedJsonTextIsAnError) {
  auto p = parse_workerjob(std::string_view("{\"apiVersion\": "));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error_text().find("malformed JSON"), std::string::npos);
}

TEST(WorkerJob, MetadataNameIsBoundedBecauseItBecomesALabel) {
  auto p = parse_workerjob(yaml("apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: " +
                                std::string(64, 'a') + ", namespace: b}\nspec: {job: a}"));
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].path, "metadata.name");
  EXPECT_NE(p.errors[0].message.find("at most 63"), std::string::npos);
}

TEST(WorkerJob, MetadataKeepsLabelsAnnotationsAndDeletion) {
  auto p = parse_workerjob(
      yaml("apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: a, namespace: b, resourceVersion: '42', "
           "labels: {x: z}, annotations: {note: m}, deletionTimestamp: '2026-01-01T00:00:00Z', managedFields: []}\n"
           "spec: {job: a}"));
  ASSERT_TRUE(p.ok()) << p.error_text();
  EXPECT_EQ(p.value->metadata.resource_version, "42");
  EXPECT_EQ(p.value->metadata.labels.at("x"), "z");
  EXPECT_EQ(p.value->metadata.annotations.at("note"), "m");
  EXPECT_EQ(p.value->metadata.deletion_timestamp, "2026-01-01T00:00:00Z");
}

// --- spec.job ----------------------------------------------------------------------------------

TEST(WorkerJobSpec, JobIsRequired) {
  expect_error("  replicas: 1\n", "spec.job", "is required");
}

TEST(WorkerJobSpec, JobMustBeDotSeparatedDnsLabels) {
  EXPECT_EQ(valid("  job: campaigns.sync-registry\n").job, "campaigns.sync-registry");
  expect_error("  job: Campaigns.Sync\n", "spec.job", "dot-separated lowercase DNS labels");
  expect_error("  job: campaigns..sync\n", "spec.job", "campaigns.sync-registry");
  expect_error("  job: campaigns_sync\n", "spec.job", "campaigns.sync-registry");
  expect_error("  job: 5\n", "spec.job", "must be a string, not a number");
  expect_error("  job: " + std::string(64, 'a') + "\n", "spec.job", "at most 63 characters");
}

TEST(WorkerJobSpec, JobIsImmutable) {
  const WorkerJobSpec a = valid(kJob);
  WorkerJobSpec b = a;
  EXPECT_TRUE(validate_update(a, b).empty());
  b.replicas = 5;
  EXPECT_TRUE(validate_update(a, b).empty());
  b.job = "campaigns.other";
  const auto errors = validate_update(a, b);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "spec.job");
  EXPECT_NE(errors[0].message.find("immutable"), std::string::npos);
}

// --- image, replicas, paused -----------------------------------------------------------------

TEST(WorkerJobSpec, Image) {
  EXPECT_EQ(valid(kJob + "  image: registry.example.com/worker:1.2\n").image, "registry.example.com/worker:1.2");
  expect_error(kJob + "  image: 'a b'\n", "spec.image", "whitespace");
  expect_error(kJob + "  image: " + std::string(513, 'a') + "\n", "spec.image", "at most 512");
}

TEST(WorkerJobSpec, Replicas) {
  EXPECT_EQ(valid(kJob + "  replicas: 0\n").replicas, 0);
  EXPECT_EQ(valid(kJob + "  replicas: 100\n").replicas, 100);
  expect_error(kJob + "  replicas: 101\n", "spec.replicas", "between 0 and 100");
  expect_error(kJob + "  replicas: -1\n", "spec.replicas", "between 0 and 100");
  expect_error(kJob + "  replicas: 1.5\n", "spec.replicas", "must be an integer");
  expect_error(kJob + "  replicas: '2'\n", "spec.replicas", "must be an integer, not a string");
  expect_error(kJob + "  replicas: 99999999999999999999\n", "spec.replicas", "must be an integer");
}

TEST(WorkerJobSpec, Paused) {
  EXPECT_TRUE(valid(kJob + "  paused: true\n").paused);
  EXPECT_FALSE(valid(kJob + "  paused: false\n").paused);
  expect_error(kJob + "  paused: 'true'\n", "spec.paused", "must be true or false");
}

// --- resources ---------------------------------------------------------------------------------

TEST(WorkerJobSpec, ResourcesRequestsAndLimits) {
  const auto spec = valid(kJob +
                          "  resources:\n    requests: {cpu: 100m, memory: 100M}\n"
                          "    limits: {cpu: 1, memory: 500M}\n");
  EXPECT_EQ(spec.resources.requests.at("cpu").text(), "100m");
  EXPECT_EQ(spec.resources.requests.at("memory").text(), "100M");
  EXPECT_EQ(spec.resources.limits.at("cpu").text(), "1");  // an integer is a quantity too
  EXPECT_EQ(spec.resources.limits.at("memory").text(), "500M");
}

TEST(WorkerJobSpec, ResourcesEncodeLimitsThenRequestsAndLeaveOutAnEmptyList) {
  const auto both = valid(kJob +
                          "  resources:\n    requests: {memory: 100M, cpu: 100m}\n"
                          "    limits: {memory: 500M}\n");
  EXPECT_EQ(to_json(both.resources).serialize(),
            R"({"limits":{"memory":"500M"},"requests":{"cpu":"100m","memory":"100M"}})");
  EXPECT_EQ(to_json(both).at("resources").serialize(), to_json(both.resources).serialize())
      << "the spec's JSON encodes resources with the same function";
  EXPECT_EQ(to_json(valid(kJob + "  resources:\n    requests: {cpu: 1}\n").resources).serialize(),
            R"({"requests":{"cpu":"1"}})");
  EXPECT_EQ(to_json(ResourceRequirements{}).serialize(), "{}");
}

TEST(WorkerJobSpec, EachLimitMustBeAtLeastItsRequest) {
  expect_error(kJob + "  resources:\n    requests: {memory: 1Gi}\n    limits: {memory: 1G}\n",
               "spec.resources.limits.memory",
               "limits.memory (1G) must be at least requests.memory (1Gi): raise the limit or lower the request");
  expect_error(kJob + "  resources:\n    requests: {cpu: '1.5'}\n    limits: {cpu: 1}\n", "spec.resources.limits.cpu",
               "limits.cpu (1) must be at least requests.cpu (1.5)");
  expect_error(kJob + "  resources:\n    requests: {example.com/gpu: 2}\n    limits: {example.com/gpu: 1}\n",
               "spec.resources.limits[example.com/gpu]",
               "limits.example.com/gpu (1) must be at least requests.example.com/gpu (2): raise the limit");
  // Equal, or only one side set, is fine.
  valid(kJob + "  resources:\n    requests: {cpu: 500m}\n    limits: {cpu: '0.5', memory: 1Gi}\n");
  valid(kJob + "  resources:\n    limits: {cpu: 1m}\n");
}

TEST(WorkerJobSpec, ResourceQuantitiesAreChecked) {
  expect_error(kJob + "  resources:\n    requests: {memory: 1Mb}\n", "spec.resources.requests.memory",
               "unknown suffix \"Mb\"");
  expect_error(kJob + "  resources:\n    requests: {cpu: 0.5}\n", "spec.resources.requests.cpu", "quote it: \"0.5\"");
  expect_error(kJob + "  resources:\n    requests: {cpu: -1}\n", "spec.resources.requests.cpu", "negative");
  expect_error(kJob + "  resources:\n    limits: {memory: 99999999999999999999Ei}\n", "spec.resources.limits.memory",
               "too large");
  expect_error(kJob + "  resources:\n    limits: {memory: [1]}\n", "spec.resources.limits.memory", "not a list");
}

TEST(WorkerJobSpec, ResourceNamesAndShape) {
  valid(kJob + "  resources:\n    limits: {example.com/gpu: 1, ephemeral-storage: 1Gi}\n");
  expect_error(kJob + "  resources:\n    limits: {'bad name': 1}\n", "spec.resources.limits[bad name]",
               "resource names must look like cpu, memory");
  expect_error(kJob + "  resources:\n    claims: []\n", "spec.resources.claims", "unknown field");
  expect_error(kJob + "  resources: 5\n", "spec.resources", "must be an object");
  std::string many = kJob + "  resources:\n    limits:\n";
  for (int i = 0; i < 17; ++i) many += "      r" + std::to_string(i) + ": 1\n";
  expect_error(many, "spec.resources.limits", "at most 16");
}

// --- args --------------------------------------------------------------------------------------

TEST(WorkerJobSpec, Args) {
  EXPECT_EQ(valid(kJob + "  args: [--a=1, '--b']\n").args, (std::vector<std::string>{"--a=1", "--b"}));
  expect_error(kJob + "  args: [--job=other]\n", "spec.args[0]", "must not set --job");
  expect_error(kJob + "  args: [x, --job]\n", "spec.args[1]", "must not set --job");
  expect_error(kJob + "  args: [1]\n", "spec.args[0]", "must be a string");
  expect_error(kJob + "  args: --a\n", "spec.args", "must be a list");
  expect_error(kJob + "  args: ['" + std::string(1025, 'a') + "']\n", "spec.args[0]", "at most 1024");
  std::string many = kJob + "  args:\n";
  for (int i = 0; i < 65; ++i) many += "  - x\n";
  expect_error(many, "spec.args", "at most 64");
}

// --- env, envFrom ------------------------------------------------------------------------------

TEST(WorkerJobSpec, Env) {
  const auto spec = valid(kJob +
                          "  env:\n  - {name: A, value: x}\n  - name: B\n    valueFrom:\n"
                          "      secretKeyRef: {name: s, key: k}\n");
  ASSERT_TRUE(spec.env.is_array());
  EXPECT_EQ(spec.env.as_array().size(), 2u);
  valid(kJob + "  env:\n  - name: C\n    valueFrom: {configMapKeyRef: {name: c, key: k, optional: true}}\n");
  valid(kJob + "  env:\n  - name: D\n    valueFrom: {fieldRef: {fieldPath: metadata.name}}\n");
  valid(kJob + "  env:\n  - name: E\n    valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}\n");
}

TEST(WorkerJobSpec, EnvRules) {
  expect_error(kJob + "  env:\n  - {value: x}\n", "spec.env[0].name", "is required");
  expect_error(kJob + "  env:\n  - {name: 1A}\n", "spec.env[0].name", "valid environment variable name");
  expect_error(kJob + "  env:\n  - {name: A}\n  - {name: A}\n", "spec.env[1].name", "duplicate");
  expect_error(kJob + "  env:\n  - {name: A, value: 1}\n", "spec.env[0].value", "must be a string");
  expect_error(kJob + "  env:\n  - {name: A, value: x, valueFrom: {fieldRef: {fieldPath: a}}}\n", "spec.env[0]",
               "set either value or valueFrom, not both");
  expect_error(kJob + "  env:\n  - {name: A, valueFrom: {}}\n", "spec.env[0].valueFrom", "exactly one");
  expect_error(kJob + "  env:\n  - {name: A, valueFrom: {secretKeyRef: {name: s}}}\n",
               "spec.env[0].valueFrom.secretKeyRef.key", "is required");
  expect_error(kJob + "  env:\n  - {name: A, valu: x}\n", "spec.env[0].valu", "unknown field");
  expect_error(kJob + "  env: {A: x}\n", "spec.env", "must be a list");
}

TEST(WorkerJobSpec, EnvFrom) {
  valid(kJob + "  envFrom:\n  - {configMapRef: {name: c}, prefix: P_}\n  - secretRef: {name: s, optional: true}\n");
  expect_error(kJob + "  envFrom:\n  - {prefix: P_}\n", "spec.envFrom[0]", "exactly one of configMapRef, secretRef");
  expect_error(kJob + "  envFrom:\n  - {configMapRef: {name: c}, secretRef: {name: s}}\n", "spec.envFrom[0]",
               "exactly one");
  expect_error(kJob + "  envFrom:\n  - {secretRef: {name: Bad_Name}}\n", "spec.envFrom[0].secretRef.name",
               "DNS subdomain");
}

// --- config ------------------------------------------------------------------------------------

TEST(WorkerJobSpec, Config) {
  EXPECT_TRUE(valid(kJob + "  config: {}\n").config.is_object());
  const auto spec = valid(kJob + "  config: {queue: q, nested: {list: [1, 2]}, anything: [goes]}\n");
  EXPECT_EQ(spec.config.at("queue").as_string(), "q");
  expect_error(kJob + "  config: [1]\n", "spec.config", "must be an object");
  expect_error(kJob + "  config: text\n", "spec.config", "must be an object");
}

// --- template ----------------------------------------------------------------------------------

TEST(WorkerJobSpec, TemplateLabelsAndAnnotations) {
  const auto spec = valid(kJob +
                          "  template:\n    labels: {team: a, example.com/tier: bg}\n"
                          "    annotations: {example.com/note: 'any text: at all'}\n");
  EXPECT_EQ(spec.template_.labels.at("example.com/tier"), "bg");
  EXPECT_EQ(spec.template_.annotations.at("example.com/note"), "any text: at all");
  expect_error(kJob + "  template:\n    labels: {app.kubernetes.io/instance: x}\n",
               "spec.template.labels[app.kubernetes.io/instance]", "set by the operator");
  expect_error(kJob + "  template:\n    labels: {worker.dev/job: x}\n", "spec.template.labels[worker.dev/job]",
               "worker.dev/* labels are set by the operator");
  expect_error(kJob + "  template:\n    annotations: {worker.dev/config-hash: x}\n",
               "spec.template.annotations[worker.dev/config-hash]", "worker.dev/* annotations are set by the operator");
  for (const char* key :
       {"container.apparmor.security.beta.kubernetes.io/worker", "seccomp.security.alpha.kubernetes.io/pod",
        "container.seccomp.security.alpha.kubernetes.io/worker"}) {
    expect_error(kJob + "  template:\n    annotations: {" + key + ": unconfined}\n",
                 std::string("spec.template.annotations[") + key + "]", "relax the pods' security");
  }
  EXPECT_EQ(valid(kJob + "  template:\n    annotations: {example.com/apparmor-note: x}\n").template_.annotations.size(),
            1u);
  expect_error(kJob + "  template:\n    labels: {team: 'a b'}\n", "spec.template.labels.team",
               "values must be at most 63 letters");
  expect_error(kJob + "  template:\n    labels: {team: 1}\n", "spec.template.labels.team", "quote it");
  expect_error(kJob + "  template:\n    labels: {'a b': x}\n", "spec.template.labels[a b]",
               "keys must be an optional DNS-subdomain prefix");
}

TEST(WorkerJobSpec, TemplateNodeSelectorTolerationsAffinity) {
  const auto spec = valid(kJob +
                          "  template:\n    nodeSelector: {kubernetes.io/os: linux}\n"
                          "    tolerations: [{key: k, operator: Exists, effect: NoExecute, "
                          "tolerationSeconds: 60}]\n"
                          "    affinity: {nodeAffinity: {anything: here}}\n");
  EXPECT_EQ(spec.template_.node_selector.at("kubernetes.io/os"), "linux");
  EXPECT_TRUE(spec.template_.tolerations.is_array());
  EXPECT_TRUE(spec.template_.affinity.is_object());
  expect_error(kJob + "  template:\n    tolerations: [{operator: Maybe}]\n", "spec.template.tolerations[0].operator",
               "must be one of Exists, Equal");
  expect_error(kJob + "  template:\n    tolerations: [{effect: Never}]\n", "spec.template.tolerations[0].effect",
               "must be one of");
  expect_error(kJob + "  template:\n    affinity: {nodeAfinity: {}}\n", "spec.template.affinity.nodeAfinity",
               "unknown field");
  expect_error(kJob + "  template:\n    affinity: {podAffinity: 1}\n", "spec.template.affinity.podAffinity",
               "must be an object");
}

TEST(WorkerJobSpec, TemplateScalars) {
  const auto spec = valid(kJob +
                          "  template:\n    serviceAccountName: sa\n    priorityClassName: low\n"
                          "    imagePullSecrets: [{name: reg}]\n    terminationGracePeriodSeconds: 0\n");
  EXPECT_EQ(spec.template_.service_account_name, "sa");
  EXPECT_EQ(spec.template_.priority_class_name, "low");
  EXPECT_TRUE(spec.template_.image_pull_secrets.is_array());
  EXPECT_EQ(spec.template_.termination_grace_period_seconds, 0);
  expect_error(kJob + "  template:\n    serviceAccountName: SA\n", "spec.template.serviceAccountName", "DNS subdomain");
  expect_error(kJob + "  template:\n    imagePullSecrets: [{}]\n", "spec.template.imagePullSecrets[0].name",
               "is required");
  expect_error(kJob + "  template:\n    terminationGracePeriodSeconds: 3601\n",
               "spec.template.terminationGracePeriodSeconds", "between 0 and 3600");
  expect_error(kJob + "  template:\n    hostNetwork: true\n", "spec.template.hostNetwork", "unknown field");
}

TEST(WorkerJobSpec, UnknownSpecFieldsAreErrorsNamingTheKnownOnes) {
  expect_error(kJob + "  replica: 2\n", "spec.replica", "unknown field (known fields: ");
}

TEST(WorkerJobSpec, NullMeansAbsent) {
  EXPECT_EQ(valid(kJob + "  replicas: null\n  image: ~\n").replicas, 1);
}

TEST(WorkerJobSpec, ReportsEveryErrorAtOnce) {
  auto p = parse_spec("  job: BAD\n  replicas: 1000\n  paused: maybe\n  extra: 1\n");
  EXPECT_EQ(p.errors.size(), 4u) << p.error_text();
}

// --- status ------------------------------------------------------------------------------------

TEST(WorkerJobStatus, RoundTrips) {
  WorkerJobStatus s;
  s.observed_generation = 3;
  s.replicas = 1;
  s.ready_replicas = 1;
  s.ready = ready_text(1, 1);
  s.selector = "app.kubernetes.io/instance=wj,app.kubernetes.io/name=worker";
  s.deployment = "wj";
  s.conditions.push_back({"Ready", "True", 3, "2026-01-01T00:00:00Z", "Available", "1/1 pods ready"});
  s.conditions.push_back({"Degraded", "False", std::nullopt, "2026-01-01T00:00:00Z", "AsExpected", ""});
  s.last_failure = LastFailure{"OOMKilled", "exit 137", "wj-abc", "2026-01-01T00:00:00Z"};
  web::json::value doc = yaml(
      "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\n"
      "metadata: {name: wj, namespace: team}\nspec: {job: a}");
  doc["status"] = to_json(s);
  auto p = parse_workerjob(doc);
  ASSERT_TRUE(p.ok()) << p.error_text();
  const WorkerJobStatus& r = p.value->status;
  EXPECT_EQ(r.ready, "1/1");
  EXPECT_EQ(r.observed_generation, 3);
  ASSERT_EQ(r.conditions.size(), 2u);
  EXPECT_EQ(r.conditions[0].observed_generation, 3);
  EXPECT_EQ(r.conditions[1].observed_generation, std::nullopt);
  EXPECT_EQ(r.conditions[0].reason, "Available");
  ASSERT_TRUE(r.last_failure);
  EXPECT_EQ(r.last_failure->reason, "OOMKilled");
  EXPECT_EQ(to_json(r).serialize(), to_json(s).serialize());
}

TEST(WorkerJobStatus, ToleratesUnknownFieldsButNotWrongTypes) {
  auto base = "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: wj, namespace: t}\nspec: {job: a}\n";
  EXPECT_TRUE(parse_workerjob(yaml(std::string(base) + "status: {futureField: 1, replicas: 2}")).ok());
  auto p = parse_workerjob(yaml(std::string(base) + "status: {conditions: [{type: Ready, status: Maybe}]}"));
  ASSERT_EQ(p.errors.size(), 1u) << p.error_text();
  EXPECT_EQ(p.errors[0].path, "status.conditions[0].status");
}

// --- writing -----------------------------------------------------------------------------------

TEST(WorkerJob, SpecToJsonRoundTripsAndIsStable) {
  const std::string spec_yaml = kJob +
                                "  image: img\n  replicas: 2\n  paused: true\n"
                                "  resources: {requests: {cpu: 100m}, limits: {cpu: 1}}\n"
                                "  args: [--x]\n  env: [{name: A, value: b}]\n  envFrom: [{secretRef: {name: s}}]\n"
                                "  config: {k: v}\n"
                                "  template: {labels: {a: b}, annotations: {c: d}, nodeSelector: {e: f}, "
                                "tolerations: [{key: k}], affinity: {podAffinity: {}}, serviceAccountName: sa, "
                                "priorityClassName: p, imagePullSecrets: [{name: r}], "
                                "terminationGracePeriodSeconds: 10}\n";
  const WorkerJobSpec spec = valid(spec_yaml);
  web::json::value doc = yaml(
      "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\n"
      "metadata: {name: wj, namespace: team}\nspec: {job: a}");
  doc["spec"] = to_json(spec);
  auto again = parse_workerjob(doc);
  ASSERT_TRUE(again.ok()) << again.error_text();
  EXPECT_EQ(to_json(again.value->spec).serialize(), to_json(spec).serialize());
  EXPECT_EQ(again.value->spec.template_.termination_grace_period_seconds, 10);
  EXPECT_TRUE(again.value->spec.paused);
}

TEST(WorkerJob, FullObjectToJsonParsesBack) {
  auto p = parse_spec(kJob);
  ASSERT_TRUE(p.ok());
  auto again = parse_workerjob(to_json(*p.value));
  ASSERT_TRUE(again.ok()) << again.error_text();
  EXPECT_EQ(to_pretty_json(to_json(*again.value)), to_pretty_json(to_json(*p.value)));
}

}  // namespace
}  // namespace wo::api
