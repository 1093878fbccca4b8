#pragma once
// The WorkerJob API (worker.dev/v1alpha1) as C++ types, read from and written to the API server's
// JSON. Parsing validates everything crds/workerjob.yaml validates, so an object the operator
// acts on is one it fully understands, whatever server version or client created it; each error
// names the field path and, for a rule the CRD states in CEL, says what its message says, e.g.
// "spec.resources.limits.memory: limits.memory (1G) must be at least requests.memory (1Gi): raise the
// limit or lower the request".

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/quantity.h"

namespace wo::api {

inline constexpr std::string_view kGroup = "worker.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "worker.dev/v1alpha1";
inline constexpr std::string_view kKind = "WorkerJob";
inline constexpr std::string_view kPlural = "workerjobs";

// Bounds shared with the CRD (crds/workerjob.yaml); change both together.
inline constexpr int kMaxNameLength = 63;  // metadata.name becomes a label value
inline constexpr int kMaxJobLength = 63;   // spec.job becomes the worker.dev/job label value
inline constexpr int kMaxReplicas = 100;
inline constexpr int kMaxImageLength = 512;
inline constexpr int kMaxArgs = 64;
inline constexpr int kMaxArgLength = 1024;
inline constexpr int kMaxEnv = 128;
inline constexpr int kMaxEnvValueLength = 32768;
inline constexpr int kMaxEnvFrom = 32;
inline constexpr int kMaxResources = 16;
inline constexpr int kMaxMapEntries = 32;  // template labels, annotations, nodeSelector
inline constexpr int kMaxAnnotationValueLength = 4096;
inline constexpr int kMaxTolerations = 32;
inline constexpr int kMaxImagePullSecrets = 16;
inline constexpr std::int64_t kDefaultTerminationGracePeriodSeconds = 30;
inline constexpr std::int64_t kMaxTerminationGracePeriodSeconds = 3600;

struct FieldError {
  std::string path;  // e.g. "spec.env[2].name"
  std::string message;
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

// Either a value or the reasons there is none.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::vector<FieldError> errors;

  bool ok() const { return value.has_value(); }
  // All errors, one per line.
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors) out += (out.empty() ? "" : "\n") + e.to_string();
    return out;
  }
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::int64_t generation = 0;
  std::string resource_version;
  std::string creation_timestamp;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<std::string> deletion_timestamp;
};

// core/v1 ResourceRequirements without claims. Keys are resource names (cpu, memory, ...).
struct ResourceRequirements {
  std::map<std::string, Quantity> requests;
  std::map<std::string, Quantity> limits;
};

// Pod-level knobs. The core/v1 shapes are kept as JSON (validated), null when unset.
struct PodTemplateOptions {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> node_selector;
  web::json::value tolerations;         // array of core/v1 Toleration, or null
  web::json::value affinity;            // core/v1 Affinity object, or null
  web::json::value image_pull_secrets;  // array of {name}, or null
  std::string service_account_name;
  std::string priority_class_name;
  std::int64_t termination_grace_period_seconds = kDefaultTerminationGracePeriodSeconds;
};

struct WorkerJobSpec {
  std::string job;
  std::string image;  // empty: the operator's --worker-image
  std::int32_t replicas = 1;
  bool paused = false;
  ResourceRequirements resources;
  std::vector<std::string> args;
  web::json::value env;       // array of core/v1 EnvVar, or null
  web::json::value env_from;  // array of core/v1 EnvFromSource, or null
  web::json::value config;    // an object when set (even empty), else null
  PodTemplateOptions template_;
};

// metav1.Condition.
struct Condition {
  std::string type;
  std::string status;  // True, False, Unknown
  std::optional<std::int64_t> observed_generation;
  std::string last_transition_time;  // RFC 3339
  std::string reason;                // CamelCase
  std::string message;
};

// The most recent reason a pod of this job failed.
struct LastFailure {
  std::string reason;  // e.g. OOMKilled, CrashLoopBackOff, UnknownJob
  std::string message;
  std::string pod;
  std::string time;  // RFC 3339
};

struct WorkerJobStatus {
  std::int64_t observed_generation = 0;
  std::int32_t replicas = 0;
  std::int32_t ready_replicas = 0;
  std::string ready;  // "<readyReplicas>/<desired replicas>", the READY column
  std::string selector;
  std::string deployment;
  std::vector<Condition> conditions;
  std::optional<LastFailure> last_failure;
};

struct WorkerJob {
  ObjectMeta metadata;
  WorkerJobSpec spec;
  WorkerJobStatus status;
};

// A whole WorkerJob as the API server returns it (apiVersion, kind, metadata, spec, status).
// CRD defaults are applied to absent spec fields; unknown spec fields are errors.
Parsed<WorkerJob> parse_workerjob(const web::json::value& object);
// The same from JSON text (malformed JSON is an error, never an exception).
Parsed<WorkerJob> parse_workerjob(std::string_view json_text);

// The transition rules the CRD enforces on update (spec.job is immutable).
std::vector<FieldError> validate_update(const WorkerJobSpec& old_spec, const WorkerJobSpec& new_spec);

// JSON for writes: keys in a fixed order, only fields that are set. (A whole WorkerJob or spec is
// never written by the operator; tests build them with api/tests/workerjob_json.h.)
// Resources as core/v1 writes them: limits, then requests (its field order), resource names sorted,
// an empty list left out. The one encoder of resources, for the rendered container and the tests alike.
web::json::value to_json(const ResourceRequirements& resources);
web::json::value to_json(const WorkerJobStatus& status);

// The READY column text for a status.
std::string ready_text(std::int32_t ready_replicas, std::int32_t desired_replicas);

}  // namespace wo::api
