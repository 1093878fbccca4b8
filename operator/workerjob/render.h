#pragma once
// The desired state of one WorkerJob: its Deployment and, when spec.config is set, its ConfigMap.
// A pure function of the WorkerJob and the operator's defaults; the same input gives
// byte-identical output. The objects hold only the fields the operator owns, ready to be sent
// with server-side apply (field manager worker-operator): nothing the server defaults, no status.

#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/workerjob.h"

namespace wo::workerjob {

inline constexpr std::string_view kFieldManager = "worker-operator";
inline constexpr std::string_view kContainerName = "worker";
inline constexpr int kHttpPort = 8080;
inline constexpr std::string_view kConfigDir = "/etc/worker/";
inline constexpr std::string_view kConfigKey = "config.yaml";
inline constexpr std::string_view kConfigHashAnnotation = "worker.dev/config-hash";
// On each rendered object's own metadata: a fingerprint of the rest of the rendering (the first 16 hex
// digits of its SHA-256), so the live object says which rendering was last applied to it (drift.h).
inline constexpr std::string_view kAppliedHashAnnotation = "worker.dev/applied-hash";
// The restricted pod security standard wants a non-root user; a numeric one lets the kubelet
// check it without reading the image (65532 is the conventional "nonroot" user of distroless images).
inline constexpr std::int64_t kDefaultRunAsUser = 65532;

struct RenderOptions {
  std::string worker_image;  // --worker-image: used when spec.image is empty
  std::int64_t run_as_user = kDefaultRunAsUser;
};

struct Rendered {
  web::json::value deployment;
  std::optional<web::json::value> config_map;  // set exactly when spec.config is
  std::string config_text;                     // the config.yaml content ("" without config)
  std::string config_hash;                     // sha256 hex of config_text ("" without config)
};

// Fails only when no image is known (spec.image and options.worker_image both empty).
api::Parsed<Rendered> render(const api::WorkerJob& job, const RenderOptions& options);

// The worker's --shutdown-timeout for a pod with this grace period: 5 s less, so that the worker hands
// its records back and exits before the kubelet's SIGKILL (30 s gives 25 s); half of it when the grace
// is 10 s or less. The renderer passes it before spec.args, where a --shutdown-timeout of the spec's own
// overrides it (the worker keeps the last value of a flag).
std::int64_t shutdown_timeout_seconds(std::int64_t termination_grace_period_seconds);
// "<name>-config".
std::string config_map_name(std::string_view workerjob_name);
// The Deployment's pod selector as a label-selector string, for status.selector (scale subresource).
std::string selector_string(std::string_view workerjob_name);
// The labels on every object the operator creates for this WorkerJob.
web::json::value owned_labels(const api::WorkerJob& job);
// `object` with metadata.annotations[kAppliedHashAnnotation] set to the fingerprint of the rest of it.
web::json::value with_fingerprint(web::json::value object);
// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

}  // namespace wo::workerjob
