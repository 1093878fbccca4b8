// The desired state, field by field (the golden test covers whole objects).
#include "workerjob/render.h"

#include <gtest/gtest.h>

#include "api/json_text.h"
#include "api/yaml_json.h"

namespace wo::workerjob {
namespace {

using web::json::value;

api::WorkerJob job_from(const std::string& spec_yaml) {
  std::string error;
  auto docs = api::yaml_to_json(
      "apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\n"
      "metadata: {name: wj, namespace: team, uid: u-1}\nspec:\n" +
          spec_yaml,
      &error);
  EXPECT_TRUE(docs) << error;
  auto parsed = api::parse_workerjob(docs->front());
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  return *parsed.value;
}

Rendered render_ok(const std::string& spec_yaml, const RenderOptions& options = {.worker_image = "worker:1"}) {
  auto r = render(job_from(spec_yaml), options);
  EXPECT_TRUE(r.ok()) << r.error_text();
  return *r.value;
}

const value& container_of(const Rendered& r) {
  return r.deployment.at("spec").at("template").at("spec").at("containers").as_array().at(0);
}
const value& pod_spec_of(const Rendered& r) {
  return r.deployment.at("spec").at("template").at("spec");
}

// NOLINTNEXTLINE(cert-err58-cpp): a test constant; an exception here (only bad_alloc) aborts the test binary
const std::string kJob = "  job: team.sync\n";

TEST(Render, DeploymentIdentityAndOwnership) {
  const Rendered r = render_ok(kJob);
  const value& d = r.deployment;
  EXPECT_EQ(d.at("apiVersion").as_string(), "apps/v1");
  EXPECT_EQ(d.at("kind").as_string(), "Deployment");
  EXPECT_EQ(d.at("metadata").at("name").as_string(), "wj");
  EXPECT_EQ(d.at("metadata").at("namespace").as_string(), "team");
  EXPECT_FALSE(d.has_field("status"));
  const value& owner = d.at("metadata").at("ownerReferences").as_array().at(0);
  EXPECT_EQ(owner.serialize(),
            R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","name":"wj","uid":"u-1","controller":true,)"
            R"("blockOwnerDeletion":true})");
}

TEST(Render, Labels) {
  const Rendered r = render_ok(kJob + "  template: {labels: {team: a}}\n");
  const std::string owned = R"("app.kubernetes.io/instance":"wj","app.kubernetes.io/managed-by":"worker-operator",)"
                            R"("app.kubernetes.io/name":"worker","worker.dev/job":"team.sync")";
  EXPECT_EQ(r.deployment.at("metadata").at("labels").serialize(), "{" + owned + "}");
  EXPECT_EQ(r.deployment.at("spec").at("template").at("metadata").at("labels").serialize(),
            R"({"team":"a",)" + owned + "}");
}

TEST(Render, SelectorUsesOnlyStableLabels) {
  const Rendered r = render_ok(kJob);
  EXPECT_EQ(r.deployment.at("spec").at("selector").serialize(),
            R"({"matchLabels":{"app.kubernetes.io/instance":"wj","app.kubernetes.io/name":"worker"}})");
  EXPECT_EQ(selector_string("wj"), "app.kubernetes.io/instance=wj,app.kubernetes.io/name=worker");
}

TEST(Render, ReplicasAndPaused) {
  EXPECT_EQ(render_ok(kJob).deployment.at("spec").at("replicas").as_integer(), 1);
  EXPECT_EQ(render_ok(kJob + "  replicas: 4\n").deployment.at("spec").at("replicas").as_integer(), 4);
  EXPECT_EQ(render_ok(kJob + "  replicas: 4\n  paused: true\n").deployment.at("spec").at("replicas").as_integer(), 0);
}

TEST(Render, ImageDefaultsToTheOperatorsAndIsRequired) {
  EXPECT_EQ(container_of(render_ok(kJob)).at("image").as_string(), "worker:1");
  EXPECT_EQ(container_of(render_ok(kJob + "  image: mine:2\n")).at("image").as_string(), "mine:2");
  EXPECT_TRUE(render(job_from(kJob + "  image: mine:2\n"), {}).ok());
  const auto r = render(job_from(kJob), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.at(0).path, "spec.image");
}

TEST(Render, ContainerArgsPortsProbes) {
  const Rendered r = render_ok(kJob + "  args: [--x=1, z]\n");
  const value& c = container_of(r);
  EXPECT_EQ(c.at("name").as_string(), "worker");
  EXPECT_EQ(c.at("args").serialize(), R"(["--job=team.sync","--shutdown-timeout=25s","--x=1","z"])");
  EXPECT_EQ(c.at("ports").serialize(), R"([{"name":"http","containerPort":8080,"protocol":"TCP"}])");
  EXPECT_EQ(c.at("livenessProbe").at("httpGet").serialize(), R"({"path":"/healthz","port":"http"})");
  EXPECT_EQ(c.at("readinessProbe").at("httpGet").serialize(), R"({"path":"/readyz","port":"http"})");
  EXPECT_EQ(c.at("terminationMessagePolicy").as_string(), "FallbackToLogsOnError");
}

TEST(Render, TheShutdownBudgetFollowsTheGracePeriod) {
  EXPECT_EQ(shutdown_timeout_seconds(30), 25);
  EXPECT_EQ(shutdown_timeout_seconds(3600), 3595);
  EXPECT_EQ(shutdown_timeout_seconds(10), 5);
  EXPECT_EQ(shutdown_timeout_seconds(6), 3);
  EXPECT_EQ(shutdown_timeout_seconds(1), 0);
  EXPECT_EQ(shutdown_timeout_seconds(0), 0);
  const Rendered r = render_ok(kJob + "  template: {terminationGracePeriodSeconds: 120}\n");
  EXPECT_EQ(container_of(r).at("args").at(1).as_string(), "--shutdown-timeout=115s");
}

TEST(Render, ResourcesAsGiven) {
  const Rendered r = render_ok(kJob +
                               "  resources: {requests: {cpu: 100m, memory: 100M}, "
                               "limits: {cpu: 1, memory: 500M}}\n");
  const value& c = container_of(r);
  EXPECT_EQ(c.at("resources").serialize(),
            R"({"limits":{"cpu":"1","memory":"500M"},"requests":{"cpu":"100m","memory":"100M"}})");
  EXPECT_EQ(container_of(render_ok(kJob)).at("resources").serialize(), "{}");
}

TEST(Render, EnvAndEnvFromPassThrough) {
  const Rendered r = render_ok(kJob + "  env: [{name: A, value: b}]\n  envFrom: [{secretRef: {name: s}}]\n");
  const value& c = container_of(r);
  EXPECT_EQ(c.at("env").serialize(), R"([{"name":"A","value":"b"}])");
  EXPECT_EQ(c.at("envFrom").serialize(), R"([{"secretRef":{"name":"s"}}])");
  EXPECT_FALSE(container_of(render_ok(kJob)).has_field("env"));
}

TEST(Render, RestrictedSecurityContext) {
  const Rendered r = render_ok(kJob);
  EXPECT_EQ(pod_spec_of(r).at("securityContext").serialize(),
            R"({"runAsNonRoot":true,"runAsUser":65532,"runAsGroup":65532,"seccompProfile":{"type":"RuntimeDefault"}})");
  EXPECT_EQ(container_of(r).at("securityContext").serialize(),
            R"({"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true,)"
            R"("runAsNonRoot":true})");
  EXPECT_EQ(pod_spec_of(render_ok(kJob, {.worker_image = "w", .run_as_user = 1000}))
                .at("securityContext")
                .at("runAsUser")
                .as_integer(),
            1000);
}

TEST(Render, TmpIsAnEmptyDir) {
  const Rendered r = render_ok(kJob);
  EXPECT_EQ(pod_spec_of(r).at("volumes").serialize(), R"([{"name":"tmp","emptyDir":{}}])");
  EXPECT_EQ(container_of(r).at("volumeMounts").serialize(), R"([{"name":"tmp","mountPath":"/tmp"}])");
}

TEST(Render, NoConfigMeansNoConfigMap) {
  const Rendered r = render_ok(kJob);
  EXPECT_FALSE(r.config_map);
  EXPECT_TRUE(r.config_hash.empty());
  EXPECT_FALSE(r.deployment.at("spec").at("template").at("metadata").has_field("annotations"));
}

TEST(Render, ConfigBecomesAConfigMapMountedAndHashed) {
  const Rendered r = render_ok(kJob + "  config: {b: 1, a: {c: [x]}}\n");
  ASSERT_TRUE(r.config_map);
  const value& cm = *r.config_map;
  EXPECT_EQ(cm.at("kind").as_string(), "ConfigMap");
  EXPECT_EQ(cm.at("metadata").at("name").as_string(), "wj-config");
  EXPECT_EQ(cm.at("metadata").at("ownerReferences").size(), 1u);
  const std::string text = "{\n  \"a\": {\n    \"c\": [\n      \"x\"\n    ]\n  },\n  \"b\": 1\n}\n";
  EXPECT_EQ(cm.at("data").at("config.yaml").as_string(), text);
  EXPECT_EQ(r.config_text, text);
  EXPECT_EQ(r.config_hash, sha256_hex(text));
  EXPECT_EQ(
      r.deployment.at("spec").at("template").at("metadata").at("annotations").at("worker.dev/config-hash").as_string(),
      r.config_hash);
  EXPECT_EQ(pod_spec_of(r).at("volumes").as_array().at(1).serialize(),
            R"({"name":"config","configMap":{"name":"wj-config"}})");
  EXPECT_EQ(container_of(r).at("volumeMounts").as_array().at(1).serialize(),
            R"({"name":"config","mountPath":"/etc/worker/","readOnly":true})");
}

TEST(Render, EmptyConfigStillRendersAFile) {
  const Rendered r = render_ok(kJob + "  config: {}\n");
  ASSERT_TRUE(r.config_map);
  EXPECT_EQ(r.config_text, "{}\n");
}

TEST(Render, ConfigHashIgnoresKeyOrderButNotValues) {
  EXPECT_EQ(render_ok(kJob + "  config: {a: 1, b: 2}\n").config_hash,
            render_ok(kJob + "  config: {b: 2, a: 1}\n").config_hash);
  EXPECT_NE(render_ok(kJob + "  config: {a: 1}\n").config_hash, render_ok(kJob + "  config: {a: 2}\n").config_hash);
}

TEST(Render, Sha256) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Render, PodTemplateKnobs) {
  const Rendered r = render_ok(kJob +
                               "  template:\n    annotations: {example.com/a: b}\n    nodeSelector: {disk: ssd}\n"
                               "    tolerations: [{key: k, operator: Exists}]\n"
                               "    affinity: {nodeAffinity: {x: 1}}\n    serviceAccountName: sa\n"
                               "    priorityClassName: low\n    imagePullSecrets: [{name: reg}]\n"
                               "    terminationGracePeriodSeconds: 60\n");
  const value& pod = pod_spec_of(r);
  EXPECT_EQ(r.deployment.at("spec").at("template").at("metadata").at("annotations").serialize(),
            R"({"example.com/a":"b"})");
  EXPECT_EQ(pod.at("nodeSelector").serialize(), R"({"disk":"ssd"})");
  EXPECT_EQ(pod.at("tolerations").serialize(), R"([{"key":"k","operator":"Exists"}])");
  EXPECT_EQ(pod.at("affinity").serialize(), R"({"nodeAffinity":{"x":1}})");
  EXPECT_EQ(pod.at("serviceAccountName").as_string(), "sa");
  EXPECT_EQ(pod.at("priorityClassName").as_string(), "low");
  EXPECT_EQ(pod.at("imagePullSecrets").serialize(), R"([{"name":"reg"}])");
  EXPECT_EQ(pod.at("terminationGracePeriodSeconds").as_integer(), 60);
  EXPECT_EQ(pod_spec_of(render_ok(kJob)).at("terminationGracePeriodSeconds").as_integer(), 30);
  EXPECT_FALSE(pod_spec_of(render_ok(kJob)).has_field("serviceAccountName"));
}

TEST(Render, NoServiceAccountTokenUnlessTheSpecNamesAnAccount) {
  EXPECT_EQ(pod_spec_of(render_ok(kJob)).at("automountServiceAccountToken"), value::boolean(false));
  EXPECT_FALSE(
      pod_spec_of(render_ok(kJob + "  template: {serviceAccountName: sa}\n")).has_field("automountServiceAccountToken"))
      << "a job that names its account gets the account's token, as the account says";
}

TEST(Render, EachObjectCarriesTheFingerprintOfItsRendering) {
  const Rendered a = render_ok(kJob + "  config: {a: 1}\n  template: {nodeSelector: {disk: ssd}}\n");
  const Rendered b = render_ok(kJob + "  config: {a: 1}\n");
  const Rendered c = render_ok(kJob + "  config: {a: 2}\n  template: {nodeSelector: {disk: ssd}}\n");
  const std::string key(kAppliedHashAnnotation);
  const auto fingerprint = [&](const value& object) { return object.at("metadata").at("annotations").at(key); };
  EXPECT_NE(fingerprint(a.deployment), fingerprint(b.deployment)) << "removing a field changes it";
  EXPECT_EQ(fingerprint(*a.config_map), fingerprint(*b.config_map));
  EXPECT_NE(fingerprint(*a.config_map), fingerprint(*c.config_map));
  EXPECT_NE(fingerprint(a.deployment), fingerprint(c.deployment)) << "the config hash rolls the pods";
}

TEST(Render, IsDeterministic) {
  const std::string spec = kJob +
                           "  config: {z: 1, a: [1, {y: 2, b: 3}]}\n  template: {labels: {b: c, a: d}}\n"
                           "  env: [{name: B, value: x}, {name: A, value: w}]\n";
  const Rendered a = render_ok(spec);
  const Rendered b = render_ok(spec);
  EXPECT_EQ(a.deployment.serialize(), b.deployment.serialize());
  EXPECT_EQ(api::to_pretty_json(a.deployment), api::to_pretty_json(b.deployment));
  EXPECT_EQ(a.config_map->serialize(), b.config_map->serialize());
}

}  // namespace
}  // namespace wo::workerjob
