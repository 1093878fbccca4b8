#include "workerjob/render.h"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include "api/json_text.h"

namespace wo::workerjob {
namespace {

using web::json::value;

value str(std::string_view s) {
  return value::string(std::string(s));
}

// Objects keep insertion order, so output is deterministic and reads top-down.
value object() {
  return value::object(true);
}

value array(std::vector<value> items) {
  return value::array(std::move(items));
}

// Selector labels: only ones that never change for the life of the Deployment (its selector is
// immutable), so worker.dev/job, which may not change either but is informational, stays out.
value selector_labels(std::string_view name) {
  value labels = object();
  labels["app.kubernetes.io/instance"] = str(name);
  labels["app.kubernetes.io/name"] = str("worker");
  return labels;
}

value owner_references(const api::WorkerJob& job) {
  value ref = object();
  ref["apiVersion"] = str(api::kApiVersion);
  ref["kind"] = str(api::kKind);
  ref["name"] = str(job.metadata.name);
  ref["uid"] = str(job.metadata.uid);
  ref["controller"] = value::boolean(true);
  ref["blockOwnerDeletion"] = value::boolean(true);
  return array({ref});
}

value object_metadata(const api::WorkerJob& job, std::string_view name) {
  value meta = object();
  meta["name"] = str(name);
  meta["namespace"] = str(job.metadata.namespace_);
  meta["labels"] = owned_labels(job);
  meta["ownerReferences"] = owner_references(job);
  return meta;
}

value string_map(const std::map<std::string, std::string>& m) {
  value out = object();
  for (const auto& [k, v] : m) out[k] = str(v);
  return out;
}

value probe(std::string_view path, int period_seconds) {
  value http_get = object();
  http_get["path"] = str(path);
  http_get["port"] = str("http");
  value p = object();
  p["httpGet"] = http_get;
  p["periodSeconds"] = value::number(period_seconds);
  p["timeoutSeconds"] = value::number(2);
  p["failureThreshold"] = value::number(3);
  return p;
}

value container(const api::WorkerJob& job, const std::string& image, bool with_config) {
  const api::WorkerJobSpec& spec = job.spec;
  value c = object();
  c["name"] = str(kContainerName);
  c["image"] = str(image);
  std::vector<value> args{
      str("--job=" + spec.job),
      str("--shutdown-timeout=" +
          std::to_string(shutdown_timeout_seconds(spec.template_.termination_grace_period_seconds)) + "s")};
  for (const auto& a : spec.args) args.push_back(str(a));
  c["args"] = array(std::move(args));
  if (!spec.env.is_null()) c["env"] = spec.env;
  if (!spec.env_from.is_null()) c["envFrom"] = spec.env_from;
  value port = object();
  port["name"] = str("http");
  port["containerPort"] = value::number(kHttpPort);
  port["protocol"] = str("TCP");  // part of the ports list key under server-side apply
  c["ports"] = array({port});
  c["resources"] = api::to_json(spec.resources);
  c["livenessProbe"] = probe("/healthz", 10);
  c["readinessProbe"] = probe("/readyz", 5);
  value capabilities = object();
  capabilities["drop"] = array({str("ALL")});
  value security = object();
  security["allowPrivilegeEscalation"] = value::boolean(false);
  security["capabilities"] = capabilities;
  security["readOnlyRootFilesystem"] = value::boolean(true);
  security["runAsNonRoot"] = value::boolean(true);
  c["securityContext"] = security;
  c["terminationMessagePolicy"] = str("FallbackToLogsOnError");
  std::vector<value> mounts;
  value tmp = object();
  tmp["name"] = str("tmp");
  tmp["mountPath"] = str("/tmp");
  mounts.push_back(tmp);
  if (with_config) {
    value config = object();
    config["name"] = str("config");
    config["mountPath"] = str(kConfigDir);
    config["readOnly"] = value::boolean(true);
    mounts.push_back(config);
  }
  c["volumeMounts"] = array(std::move(mounts));
  return c;
}

value pod_spec(const api::WorkerJob& job, const std::string& image, const RenderOptions& options, bool with_config) {
  const api::PodTemplateOptions& t = job.spec.template_;
  value spec = object();
  if (!t.service_account_name.empty()) {
    spec["serviceAccountName"] = str(t.service_account_name);
    // The API server copies the deprecated serviceAccount into an empty serviceAccountName when it reads
    // an object: unless the operator owns serviceAccount too, removing serviceAccountName from the
    // WorkerJob would bring it back from there.
    spec["serviceAccount"] = str(t.service_account_name);
  } else {
    // The worker never calls the API server: without a service account of the job's own, its pods get
    // no token (the namespace's default account would otherwise be mounted into every pod).
    spec["automountServiceAccountToken"] = value::boolean(false);
  }
  if (!t.priority_class_name.empty()) spec["priorityClassName"] = str(t.priority_class_name);
  if (!t.node_selector.empty()) spec["nodeSelector"] = string_map(t.node_selector);
  if (!t.tolerations.is_null()) spec["tolerations"] = t.tolerations;
  if (!t.affinity.is_null()) spec["affinity"] = t.affinity;
  if (!t.image_pull_secrets.is_null()) spec["imagePullSecrets"] = t.image_pull_secrets;
  spec["terminationGracePeriodSeconds"] = value::number(t.termination_grace_period_seconds);
  value seccomp = object();
  seccomp["type"] = str("RuntimeDefault");
  value security = object();
  security["runAsNonRoot"] = value::boolean(true);
  security["runAsUser"] = value::number(options.run_as_user);
  security["runAsGroup"] = value::number(options.run_as_user);
  security["seccompProfile"] = seccomp;
  spec["securityContext"] = security;
  spec["containers"] = array({container(job, image, with_config)});
  std::vector<value> volumes;
  value tmp = object();
  tmp["name"] = str("tmp");
  tmp["emptyDir"] = object();
  volumes.push_back(tmp);
  if (with_config) {
    value source = object();
    source["name"] = str(config_map_name(job.metadata.name));
    value config = object();
    config["name"] = str("config");
    config["configMap"] = source;
    volumes.push_back(config);
  }
  spec["volumes"] = array(std::move(volumes));
  return spec;
}

}  // namespace

std::int64_t shutdown_timeout_seconds(std::int64_t termination_grace_period_seconds) {
  constexpr std::int64_t kMargin = 5;
  const std::int64_t grace = std::max<std::int64_t>(termination_grace_period_seconds, 0);
  return std::max(grace - kMargin, grace / 2);
}

std::string config_map_name(std::string_view workerjob_name) {
  return std::string(workerjob_name) + "-config";
}

std::string selector_string(std::string_view workerjob_name) {
  return "app.kubernetes.io/instance=" + std::string(workerjob_name) + ",app.kubernetes.io/name=worker";
}

web::json::value owned_labels(const api::WorkerJob& job) {
  value labels = object();
  labels["app.kubernetes.io/instance"] = str(job.metadata.name);
  labels["app.kubernetes.io/managed-by"] = str("worker-operator");
  labels["app.kubernetes.io/name"] = str("worker");
  labels["worker.dev/job"] = str(job.spec.job);
  return labels;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

web::json::value with_fingerprint(web::json::value rendered) {
  constexpr std::size_t kFingerprintDigits = 16;
  const std::string fingerprint = sha256_hex(rendered.serialize()).substr(0, kFingerprintDigits);
  value& meta = rendered["metadata"];
  if (!meta.has_field("annotations")) meta["annotations"] = object();
  meta["annotations"][std::string(kAppliedHashAnnotation)] = str(fingerprint);
  return rendered;
}

api::Parsed<Rendered> render(const api::WorkerJob& job, const RenderOptions& options) {
  api::Parsed<Rendered> result;
  const std::string& image = job.spec.image.empty() ? options.worker_image : job.spec.image;
  if (image.empty()) {
    result.errors.push_back({"spec.image", "is empty and the operator has no default (--worker-image)"});
    return result;
  }
  Rendered out;
  const bool with_config = !job.spec.config.is_null();
  if (with_config) {
    // JSON is YAML: the worker reads it as config.yaml. Sorted keys make the text, and so the
    // hash, independent of the order the API server returned the fields in.
    out.config_text = api::to_pretty_json(api::sorted_keys(job.spec.config));
    out.config_hash = sha256_hex(out.config_text);
    value data = object();
    data[std::string(kConfigKey)] = str(out.config_text);
    value cm = object();
    cm["apiVersion"] = str("v1");
    cm["kind"] = str("ConfigMap");
    cm["metadata"] = object_metadata(job, config_map_name(job.metadata.name));
    cm["data"] = data;
    out.config_map = with_fingerprint(std::move(cm));
  }

  const api::PodTemplateOptions& t = job.spec.template_;
  value pod_labels = string_map(t.labels);
  const value labels = owned_labels(job);
  for (const auto& [k, v] : labels.as_object()) pod_labels[k] = v;  // validation forbids clashes
  value pod_meta = object();
  pod_meta["labels"] = pod_labels;
  value annotations = string_map(t.annotations);
  if (with_config) annotations[std::string(kConfigHashAnnotation)] = str(out.config_hash);
  if (annotations.size() > 0) pod_meta["annotations"] = annotations;
  value pod_template = object();
  pod_template["metadata"] = pod_meta;
  pod_template["spec"] = pod_spec(job, image, options, with_config);

  value selector = object();
  selector["matchLabels"] = selector_labels(job.metadata.name);
  value spec = object();
  spec["replicas"] = value::number(job.spec.paused ? 0 : job.spec.replicas);
  spec["selector"] = selector;
  spec["template"] = pod_template;

  value deployment = object();
  deployment["apiVersion"] = str("apps/v1");
  deployment["kind"] = str("Deployment");
  deployment["metadata"] = object_metadata(job, job.metadata.name);
  deployment["spec"] = spec;
  out.deployment = with_fingerprint(std::move(deployment));
  result.value = std::move(out);
  return result;
}

}  // namespace wo::workerjob
