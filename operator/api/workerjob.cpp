#include "api/workerjob.h"

#include <functional>
#include <set>
#include <utility>

#include "api/json_text.h"
#include "api/names.h"

namespace wo::api {
namespace {

using web::json::value;
using Errors = std::vector<FieldError>;
// A check on a string: nullopt when fine, else the message.
using StringCheck = std::function<std::optional<std::string>(const std::string&)>;

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}
std::string item(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}
// Map keys: plain words read as fields, anything else (dots, slashes) in brackets.
std::string key_path(const std::string& path, const std::string& key) {
  bool plain = !key.empty();
  for (const char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      plain = false;
    }
  }
  return plain ? child(path, key) : path + "[" + key + "]";
}

std::string type_name(const value& v) {
  switch (v.type()) {
    case value::Null:
      return "null";
    case value::Boolean:
      return "a boolean";
    case value::Number:
      return "a number";
    case value::String:
      return "a string";
    case value::Array:
      return "a list";
    case value::Object:
      return "an object";
  }
  return "unknown";
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 80;
  if (s.size() > kShown) return "\"" + std::string(s.substr(0, kShown)) + "...\"";
  return "\"" + std::string(s) + "\"";
}

// Reads one JSON object's fields, remembering which were asked for, so that the rest can be
// reported as unknown. JSON null counts as absent (the API server prunes it the same way).
class Fields {
 public:
  Fields(const value& v, std::string path, Errors& errors, bool strict)
      : v_(v), path_(std::move(path)), errors_(errors), strict_(strict) {
    if (!v.is_object()) {
      errors_.push_back({path_, "must be an object, not " + type_name(v)});
      valid_ = false;
    }
  }
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;
  ~Fields() {
    if (!valid_ || !strict_) return;
    for (const auto& [key, unused] : v_.as_object()) {
      if (known_.count(key) == 0) {
        errors_.push_back({key_path(path_, key), "unknown field (known fields: " + known_list() + ")"});
      }
    }
  }

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view name) const { return child(path_, name); }
  Errors& errors() { return errors_; }
  void error(std::string_view name, std::string message) { errors_.push_back({path(name), std::move(message)}); }

  const value* get(std::string_view name) {
    known_.insert(std::string(name));
    if (!valid_) return nullptr;
    const auto& o = v_.as_object();
    const auto it = o.find(std::string(name));
    if (it == o.end() || it->second.is_null()) return nullptr;
    return &it->second;
  }
  bool has(std::string_view name) { return get(name) != nullptr; }

  // A present list or map of the given type with at most `max` entries; nullptr when absent, or
  // (with an error) when of another type or too long.
  const value* bounded(std::string_view name, value::value_type type, std::size_t max, std::string_view kind) {
    const value* v = get(name);
    if (v == nullptr) return nullptr;
    if (v->type() != type) {
      error(name, "must be " + std::string(kind) + ", not " + type_name(*v));
      return nullptr;
    }
    if (v->size() > max) {
      error(name, "must have at most " + std::to_string(max) + (type == value::Array ? " items" : " entries") +
                      " (has " + std::to_string(v->size()) + ")");
      return nullptr;
    }
    return v;
  }

  // Typed readers: return false (and record an error) when present but wrong.
  bool string(std::string_view name, std::string& out, std::size_t max_length, const StringCheck& check = {}) {
    const value* v = get(name);
    if (v == nullptr) return true;
    if (!v->is_string()) {
      error(name, "must be a string, not " + type_name(*v));
      return false;
    }
    const std::string& s = v->as_string();
    if (s.size() > max_length) {
      error(name,
            "must be at most " + std::to_string(max_length) + " characters (is " + std::to_string(s.size()) + ")");
      return false;
    }
    if (check) {
      if (auto message = check(s)) {
        error(name, *message);
        return false;
      }
    }
    out = s;
    return true;
  }
  bool required_string(std::string_view name, std::string& out, std::size_t max_length, const StringCheck& check = {}) {
    if (!has(name)) {
      error(name, "is required");
      return false;
    }
    return string(name, out, max_length, check);
  }
  template <class Int>
  bool integer(std::string_view name, Int& out, std::int64_t min, std::int64_t max) {
    const value* v = get(name);
    if (v == nullptr) return true;
    if (!v->is_number() || !v->as_number().is_int64()) {
      error(name,
            "must be an integer, not " + (v->is_number() ? std::string("a fraction or a huge number") : type_name(*v)));
      return false;
    }
    const std::int64_t n = v->as_number().to_int64();
    if (n < min || n > max) {
      error(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (is " +
                      std::to_string(n) + ")");
      return false;
    }
    out = static_cast<Int>(n);
    return true;
  }
  bool boolean(std::string_view name, bool& out) {
    const value* v = get(name);
    if (v == nullptr) return true;
    if (!v->is_boolean()) {
      error(name, "must be true or false, not " + type_name(*v));
      return false;
    }
    out = v->as_bool();
    return true;
  }
  bool one_of(std::string_view name, std::string& out, std::initializer_list<std::string_view> allowed) {
    std::string all;
    for (const auto a : allowed) all += (all.empty() ? "" : ", ") + (a.empty() ? std::string("\"\"") : std::string(a));
    return string(name, out, 64, [&](const std::string& s) -> std::optional<std::string> {
      for (const auto a : allowed) {
        if (s == a) return std::nullopt;
      }
      return "must be one of " + all + " (is " + quoted(s) + ")";
    });
  }

 private:
  std::string known_list() const {
    std::string out;
    for (const auto& k : known_) out += (out.empty() ? "" : ", ") + k;
    return out;
  }

  const value& v_;
  std::string path_;
  Errors& errors_;
  bool strict_;
  bool valid_ = true;
  std::set<std::string> known_;
};

// The messages of the CRD's CEL rules (crds/workerjob.yaml), word for word without the field path an
// error names anyway, so that `kubectl apply` and the operator's InvalidSpec say the same thing about
// the same rule. crd_test.cpp checks that every CEL message has its C++ counterpart.
namespace cel {
constexpr std::string_view kNameLength =
    "must be at most 63 characters: it becomes the app.kubernetes.io/instance label of the Deployment and its pods";
constexpr std::string_view kJobName =
    "must be dot-separated lowercase DNS labels such as campaigns.sync-registry (letters a-z, digits and '-', each "
    "part starting and ending with a letter or digit)";
constexpr std::string_view kJobImmutable = "is immutable; create a new WorkerJob to run a different job";
constexpr std::string_view kImageWhitespace = "must not contain whitespace";
constexpr std::string_view kQuantity =
    "must be a non-negative quantity such as 100m, 0.5, 1, 500M or 1Gi (quote fractions, \"0.5\")";
constexpr std::string_view kResourceName =
    "resource names must look like cpu, memory, ephemeral-storage or example.com/gpu";
constexpr std::string_view kRaiseTheLimit = "raise the limit or lower the request";
constexpr std::string_view kArgsJob = "must not set --job; spec.job names the one job this WorkerJob runs";
constexpr std::string_view kValueOrValueFrom = "set either value or valueFrom, not both";
constexpr std::string_view kOneValueSource =
    "set exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef";
constexpr std::string_view kOneEnvFromSource = "set exactly one of configMapRef, secretRef";
constexpr std::string_view kReservedLabel =
    "app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/managed-by and worker.dev/* labels are "
    "set by the operator";
constexpr std::string_view kReservedAnnotation = "worker.dev/* annotations are set by the operator";
constexpr std::string_view kRelaxingAnnotation =
    "AppArmor and seccomp annotations would relax the pods' security; the operator sets the seccomp profile "
    "RuntimeDefault";
constexpr std::string_view kQualifiedKey =
    "keys must be an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.'";
constexpr std::string_view kLabelValue =
    "values must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
}  // namespace cel

std::optional<std::string> check_dns_subdomain(const std::string& s) {
  if (is_dns_subdomain(s)) return std::nullopt;
  return "must be a DNS subdomain (lowercase letters, digits, '-' and '.'; e.g. my-name), not " + quoted(s);
}
std::optional<std::string> check_optional_dns_subdomain(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return check_dns_subdomain(s);
}

// A map of string to string with bounded size and checked keys and values.
void read_string_map(Fields& f, std::string_view name, std::map<std::string, std::string>& out, std::size_t max_entries,
                     const StringCheck& key_check, const StringCheck& value_check, std::size_t max_value_length) {
  const value* v = f.bounded(name, value::Object, max_entries, "a map of strings");
  if (v == nullptr) return;
  const std::string path = f.path(name);
  for (const auto& [key, item_value] : v->as_object()) {
    const std::string p = key_path(path, key);
    if (auto message = key_check(key)) {
      f.errors().push_back({p, *message});
      continue;
    }
    if (!item_value.is_string()) {
      f.errors().push_back({p, "must be a string, not " + type_name(item_value) + " (quote it in YAML)"});
      continue;
    }
    const std::string& s = item_value.as_string();
    if (s.size() > max_value_length) {
      f.errors().push_back({p, "must be at most " + std::to_string(max_value_length) + " characters"});
      continue;
    }
    if (value_check) {
      if (auto message = value_check(s)) {
        f.errors().push_back({p, *message});
        continue;
      }
    }
    out[key] = s;
  }
}

// Reads an optional list, checking each item; `out` keeps the JSON as given.
void read_list(Fields& f, std::string_view name, web::json::value& out, std::size_t max_items,
               const std::function<void(const value&, const std::string&, Errors&)>& check_item) {
  const value* v = f.bounded(name, value::Array, max_items, "a list");
  if (v == nullptr) return;
  const std::string path = f.path(name);
  const std::size_t before = f.errors().size();
  std::size_t i = 0;
  for (const auto& entry : v->as_array()) check_item(entry, item(path, i++), f.errors());
  if (f.errors().size() == before) out = *v;
}

// --- metadata -------------------------------------------------------------------------------

std::optional<std::string> any_string(const std::string&) {
  return std::nullopt;
}

void parse_metadata(const value& v, const std::string& path, ObjectMeta& out, Errors& errors) {
  Fields f(v, path, errors, /*strict=*/false);  // metadata carries many server-owned fields
  if (!f.valid()) return;
  f.required_string("name", out.name, 253, [](const std::string& s) -> std::optional<std::string> {
    if (s.size() > static_cast<std::size_t>(kMaxNameLength)) {
      return std::string(cel::kNameLength);
    }
    return check_dns_subdomain(s);
  });
  f.required_string("namespace", out.namespace_, 63);
  f.string("uid", out.uid, 128);
  f.integer("generation", out.generation, 0, INT64_MAX);
  f.string("resourceVersion", out.resource_version, 128);
  f.string("creationTimestamp", out.creation_timestamp, 64);
  read_string_map(f, "labels", out.labels, SIZE_MAX, any_string, {}, SIZE_MAX);
  read_string_map(f, "annotations", out.annotations, SIZE_MAX, any_string, {}, SIZE_MAX);
  std::string deletion;
  if (f.has("deletionTimestamp") && f.string("deletionTimestamp", deletion, 64)) out.deletion_timestamp = deletion;
}

// --- spec ------------------------------------------------------------------------------------

std::optional<std::string> check_job_name(const std::string& s) {
  if (is_job_name(s)) return std::nullopt;
  return std::string(cel::kJobName) + ", not " + quoted(s);
}

std::optional<std::string> check_resource_name(const std::string& s) {
  if (s.size() <= 253 && is_qualified_name(s)) return std::nullopt;
  return std::string(cel::kResourceName);
}

// A resources map value: a quantity string or an integer (x-kubernetes-int-or-string).
std::optional<Quantity> read_quantity(const value& v, const std::string& path, Errors& errors) {
  std::string text;
  if (v.is_string()) {
    text = v.as_string();
  } else if (v.is_number() && v.as_number().is_int64()) {
    text = std::to_string(v.as_number().to_int64());
  } else {
    errors.push_back({path, "must be a quantity string such as \"500m\" or \"1Gi\", or an integer, not " +
                                (v.is_number() ? std::string("a fraction (quote it: \"0.5\")") : type_name(v))});
    return std::nullopt;
  }
  std::string why;
  auto q = Quantity::parse(text, &why);
  if (!q) {
    errors.push_back({path, std::string(cel::kQuantity) + ": " + why});
    return std::nullopt;
  }
  if (q->sign() < 0 || text.front() == '-') {
    errors.push_back({path, std::string(cel::kQuantity) + ", not " + text});
    return std::nullopt;
  }
  return q;
}

void read_resource_list(Fields& f, std::string_view name, std::map<std::string, Quantity>& out) {
  const value* v = f.bounded(name, value::Object, kMaxResources, "a map of resource names to quantities");
  if (v == nullptr) return;
  const std::string path = f.path(name);
  const auto& o = v->as_object();
  for (const auto& [key, quantity] : o) {
    const std::string p = key_path(path, key);
    if (auto message = check_resource_name(key)) {
      f.errors().push_back({p, *message});
      continue;
    }
    if (auto q = read_quantity(quantity, p, f.errors())) out.emplace(key, *q);
  }
}

// The CRD's messageExpression for cpu and memory; CEL's cost budget leaves other resources a general
// message, which C++ need not settle for.
std::string limit_below_request(const std::string& name, const Quantity& limit, const Quantity& request) {
  std::string message = "limits.";
  message.append(name).append(" (").append(limit.text()).append(") must be at least requests.");
  message.append(name).append(" (").append(request.text()).append("): ").append(cel::kRaiseTheLimit);
  return message;
}

void parse_resources(const value& v, const std::string& path, ResourceRequirements& out, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  read_resource_list(f, "requests", out.requests);
  read_resource_list(f, "limits", out.limits);
  for (const auto& [name, limit] : out.limits) {
    const auto request = out.requests.find(name);
    if (request != out.requests.end() && limit.compare(request->second) < 0) {
      errors.push_back({key_path(child(path, "limits"), name), limit_below_request(name, limit, request->second)});
    }
  }
}

void check_key_ref(const value& v, const std::string& path, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  std::string s;
  f.required_string("name", s, 253, check_dns_subdomain);
  f.required_string("key", s, 253);
  bool optional = false;
  f.boolean("optional", optional);
}

void check_value_from(const value& v, const std::string& path, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  int sources = 0;
  if (const value* s = f.get("secretKeyRef")) {
    ++sources;
    check_key_ref(*s, f.path("secretKeyRef"), errors);
  }
  if (const value* s = f.get("configMapKeyRef")) {
    ++sources;
    check_key_ref(*s, f.path("configMapKeyRef"), errors);
  }
  if (const value* s = f.get("fieldRef")) {
    ++sources;
    Fields r(*s, f.path("fieldRef"), errors, true);
    std::string text;
    r.string("apiVersion", text, 64);
    r.required_string("fieldPath", text, 256);
  }
  if (const value* s = f.get("resourceFieldRef")) {
    ++sources;
    Fields r(*s, f.path("resourceFieldRef"), errors, true);
    std::string text;
    r.string("containerName", text, 63);
    r.required_string("resource", text, 253);
    if (const value* divisor = r.get("divisor")) read_quantity(*divisor, r.path("divisor"), errors);
  }
  if (sources != 1) {
    errors.push_back({path, std::string(cel::kOneValueSource)});
  }
}

void parse_env(Fields& spec, WorkerJobSpec& out) {
  std::set<std::string> names;
  read_list(spec, "env", out.env, kMaxEnv, [&](const value& v, const std::string& path, Errors& errors) {
    Fields f(v, path, errors, true);
    if (!f.valid()) return;
    std::string name;
    if (f.required_string("name", name, 256, [](const std::string& s) -> std::optional<std::string> {
          if (is_env_var_name(s)) return std::nullopt;
          return "must be a valid environment variable name (letters, digits, '_', '-', '.'; not starting with a "
                 "digit), not " +
                 quoted(s);
        })) {
      if (!names.insert(name).second) f.error("name", "duplicate environment variable " + quoted(name));
    }
    std::string text;
    f.string("value", text, kMaxEnvValueLength);
    if (const value* from = f.get("valueFrom")) {
      if (f.has("value")) errors.push_back({path, std::string(cel::kValueOrValueFrom)});
      check_value_from(*from, f.path("valueFrom"), errors);
    }
  });
}

void check_env_from_ref(const value& v, const std::string& path, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  std::string name;
  f.required_string("name", name, 253, check_dns_subdomain);
  bool optional = false;
  f.boolean("optional", optional);
}

void parse_env_from(Fields& spec, WorkerJobSpec& out) {
  read_list(spec, "envFrom", out.env_from, kMaxEnvFrom, [](const value& v, const std::string& path, Errors& errors) {
    Fields f(v, path, errors, true);
    if (!f.valid()) return;
    std::string prefix;
    f.string("prefix", prefix, 253);
    int sources = 0;
    for (const char* ref : {"configMapRef", "secretRef"}) {
      if (const value* r = f.get(ref)) {
        ++sources;
        check_env_from_ref(*r, f.path(ref), errors);
      }
    }
    if (sources != 1) errors.push_back({path, std::string(cel::kOneEnvFromSource)});
  });
}

void parse_args(Fields& spec, WorkerJobSpec& out) {
  const value* v = spec.bounded("args", value::Array, kMaxArgs, "a list of strings");
  if (v == nullptr) return;
  const std::string path = spec.path("args");
  const auto& a = v->as_array();
  std::size_t i = 0;
  for (const auto& arg : a) {
    const std::string p = item(path, i++);
    if (!arg.is_string()) {
      spec.errors().push_back({p, "must be a string, not " + type_name(arg) + " (quote it in YAML)"});
      continue;
    }
    const std::string& s = arg.as_string();
    if (s.size() > static_cast<std::size_t>(kMaxArgLength)) {
      spec.errors().push_back({p, "must be at most " + std::to_string(kMaxArgLength) + " characters"});
      continue;
    }
    if (s == "--job" || s.rfind("--job=", 0) == 0) {
      spec.errors().push_back({p, std::string(cel::kArgsJob)});
      continue;
    }
    out.args.push_back(s);
  }
}

std::optional<std::string> check_label_key(const std::string& s) {
  if (s.size() <= 317 && is_qualified_name(s)) return std::nullopt;
  return std::string(cel::kQualifiedKey);
}

// Annotations that the kubelet reads as AppArmor or seccomp profiles would let a WorkerJob author set
// "unconfined" and step outside the restricted pods the operator renders.
std::optional<std::string> check_pod_annotation_key(const std::string& s) {
  if (auto message = check_label_key(s)) return message;
  if (s.starts_with("worker.dev/")) return std::string(cel::kReservedAnnotation);
  // The CRD's rule: ^(container\.)?(apparmor|seccomp)\.security\.(alpha|beta)\.kubernetes\.io/
  std::string_view prefix = std::string_view(s).substr(0, s.find('/'));
  if (prefix.starts_with("container.")) prefix.remove_prefix(std::string_view("container.").size());
  for (const char* relaxing : {"apparmor.security.alpha.kubernetes.io", "apparmor.security.beta.kubernetes.io",
                               "seccomp.security.alpha.kubernetes.io", "seccomp.security.beta.kubernetes.io"}) {
    if (s.find('/') != std::string::npos && prefix == relaxing) {
      return std::string(cel::kRelaxingAnnotation);
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_pod_label_key(const std::string& s) {
  if (auto message = check_label_key(s)) return message;
  if (s == "app.kubernetes.io/name" || s == "app.kubernetes.io/instance" || s == "app.kubernetes.io/managed-by" ||
      s.starts_with("worker.dev/")) {
    return std::string(cel::kReservedLabel);
  }
  return std::nullopt;
}

std::optional<std::string> check_label_value(const std::string& s) {
  if (is_label_value(s)) return std::nullopt;
  return std::string(cel::kLabelValue) + ", not " + quoted(s);
}

void check_toleration(const value& v, const std::string& path, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  std::string text;
  f.string("key", text, 317);
  f.one_of("operator", text, {"Exists", "Equal"});
  f.string("value", text, 63);
  f.one_of("effect", text, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
  std::int64_t seconds = 0;
  f.integer("tolerationSeconds", seconds, INT64_MIN, INT64_MAX);
}

void parse_template(const value& v, const std::string& path, PodTemplateOptions& out, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  read_string_map(f, "labels", out.labels, kMaxMapEntries, check_pod_label_key, check_label_value, 63);
  read_string_map(f, "annotations", out.annotations, kMaxMapEntries, check_pod_annotation_key, {},
                  kMaxAnnotationValueLength);
  read_string_map(f, "nodeSelector", out.node_selector, kMaxMapEntries, check_label_key, check_label_value, 63);
  read_list(f, "tolerations", out.tolerations, kMaxTolerations, check_toleration);
  if (const value* affinity = f.get("affinity")) {
    Fields a(*affinity, f.path("affinity"), errors, true);
    if (a.valid()) {
      bool ok = true;
      for (const char* kind : {"nodeAffinity", "podAffinity", "podAntiAffinity"}) {
        if (const value* part = a.get(kind); part != nullptr && !part->is_object()) {
          a.error(kind, "must be an object, not " + type_name(*part));
          ok = false;
        }
      }
      if (ok) out.affinity = *affinity;
    }
  }
  f.string("serviceAccountName", out.service_account_name, 253, check_optional_dns_subdomain);
  f.string("priorityClassName", out.priority_class_name, 253, check_optional_dns_subdomain);
  read_list(f, "imagePullSecrets", out.image_pull_secrets, kMaxImagePullSecrets,
            [](const value& item_value, const std::string& p, Errors& errs) {
              Fields s(item_value, p, errs, true);
              std::string name;
              if (s.valid()) s.required_string("name", name, 253, check_dns_subdomain);
            });
  f.integer("terminationGracePeriodSeconds", out.termination_grace_period_seconds, 0,
            kMaxTerminationGracePeriodSeconds);
}

void parse_spec(const value& v, const std::string& path, WorkerJobSpec& out, Errors& errors) {
  Fields f(v, path, errors, true);
  if (!f.valid()) return;
  f.required_string("job", out.job, kMaxJobLength, check_job_name);
  f.string("image", out.image, kMaxImageLength, [](const std::string& s) -> std::optional<std::string> {
    for (const char c : s) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        return std::string(cel::kImageWhitespace);
      }
    }
    return std::nullopt;
  });
  f.integer("replicas", out.replicas, 0, kMaxReplicas);
  f.boolean("paused", out.paused);
  if (const value* r = f.get("resources")) parse_resources(*r, f.path("resources"), out.resources, errors);
  parse_args(f, out);
  parse_env(f, out);
  parse_env_from(f, out);
  if (const value* c = f.get("config")) {
    if (c->is_object()) {
      out.config = *c;
    } else {
      f.error("config", "must be an object (a map of settings), not " + type_name(*c));
    }
  }
  if (const value* t = f.get("template")) parse_template(*t, f.path("template"), out.template_, errors);
}

// --- status ----------------------------------------------------------------------------------
// The operator writes the status; reading it back is lenient about fields it does not know.

void parse_condition(const value& v, const std::string& path, Condition& out, Errors& errors) {
  Fields f(v, path, errors, false);
  if (!f.valid()) return;
  f.required_string("type", out.type, 316);
  f.one_of("status", out.status, {"True", "False", "Unknown"});
  std::int64_t generation = 0;
  if (f.has("observedGeneration") && f.integer("observedGeneration", generation, 0, INT64_MAX)) {
    out.observed_generation = generation;
  }
  f.string("lastTransitionTime", out.last_transition_time, 64);
  f.string("reason", out.reason, 1024);
  f.string("message", out.message, 32768);
}

void parse_status(const value& v, const std::string& path, WorkerJobStatus& out, Errors& errors) {
  Fields f(v, path, errors, false);
  if (!f.valid()) return;
  f.integer("observedGeneration", out.observed_generation, 0, INT64_MAX);
  f.integer("replicas", out.replicas, 0, INT32_MAX);
  f.integer("readyReplicas", out.ready_replicas, 0, INT32_MAX);
  f.string("ready", out.ready, 32);
  f.string("selector", out.selector, 1024);
  f.string("deployment", out.deployment, 253);
  if (const value* c = f.get("conditions")) {
    if (!c->is_array()) {
      f.error("conditions", "must be a list, not " + type_name(*c));
    } else {
      std::size_t i = 0;
      for (const auto& entry : c->as_array()) {
        Condition condition;
        parse_condition(entry, item(f.path("conditions"), i++), condition, errors);
        out.conditions.push_back(std::move(condition));
      }
    }
  }
  if (const value* lf = f.get("lastFailure")) {
    Fields l(*lf, f.path("lastFailure"), errors, false);
    if (l.valid()) {
      LastFailure failure;
      l.string("reason", failure.reason, 1024);
      l.string("message", failure.message, 32768);
      l.string("pod", failure.pod, 253);
      l.string("time", failure.time, 64);
      out.last_failure = std::move(failure);
    }
  }
}

// --- writing ---------------------------------------------------------------------------------

value resource_list_json(const std::map<std::string, Quantity>& m) {
  value out = value::object(true);
  for (const auto& [k, q] : m) out[k] = value::string(q.text());
  return out;
}

}  // namespace

Parsed<WorkerJob> parse_workerjob(const web::json::value& object) {
  Parsed<WorkerJob> result;
  WorkerJob job;
  {
    Fields f(object, "", result.errors, true);
    if (f.valid()) {
      std::string api_version;
      std::string kind;
      f.required_string("apiVersion", api_version, 64, [](const std::string& s) -> std::optional<std::string> {
        if (s == kApiVersion) return std::nullopt;
        return "must be " + std::string(kApiVersion) + ", not " + quoted(s);
      });
      f.required_string("kind", kind, 64, [](const std::string& s) -> std::optional<std::string> {
        if (s == kKind) return std::nullopt;
        return "must be " + std::string(kKind) + ", not " + quoted(s);
      });
      if (const value* m = f.get("metadata")) {
        parse_metadata(*m, "metadata", job.metadata, result.errors);
      } else {
        f.error("metadata", "is required");
      }
      if (const value* s = f.get("spec")) {
        parse_spec(*s, "spec", job.spec, result.errors);
      } else {
        f.error("spec", "is required");
      }
      if (const value* s = f.get("status")) parse_status(*s, "status", job.status, result.errors);
    }
  }
  if (result.errors.empty()) result.value = std::move(job);
  return result;
}

Parsed<WorkerJob> parse_workerjob(std::string_view json_text) {
  std::string error;
  auto v = parse_json(json_text, &error);
  if (!v) {
    Parsed<WorkerJob> result;
    result.errors.push_back({"", error});
    return result;
  }
  return parse_workerjob(*v);
}

std::vector<FieldError> validate_update(const WorkerJobSpec& old_spec, const WorkerJobSpec& new_spec) {
  std::vector<FieldError> errors;
  if (old_spec.job != new_spec.job) {
    errors.push_back({"spec.job", std::string(cel::kJobImmutable) + " (was " + quoted(old_spec.job) + ")"});
  }
  return errors;
}

std::string ready_text(std::int32_t ready_replicas, std::int32_t desired_replicas) {
  return std::to_string(ready_replicas) + "/" + std::to_string(desired_replicas);
}

web::json::value to_json(const ResourceRequirements& resources) {
  value out = value::object(true);
  if (!resources.limits.empty()) out["limits"] = resource_list_json(resources.limits);
  if (!resources.requests.empty()) out["requests"] = resource_list_json(resources.requests);
  return out;
}

web::json::value to_json(const WorkerJobStatus& status) {
  value out = value::object(true);
  out["observedGeneration"] = value::number(status.observed_generation);
  out["replicas"] = value::number(status.replicas);
  out["readyReplicas"] = value::number(status.ready_replicas);
  if (!status.ready.empty()) out["ready"] = value::string(status.ready);
  if (!status.selector.empty()) out["selector"] = value::string(status.selector);
  if (!status.deployment.empty()) out["deployment"] = value::string(status.deployment);
  std::vector<value> conditions;
  for (const auto& c : status.conditions) {
    value j = value::object(true);
    j["type"] = value::string(c.type);
    j["status"] = value::string(c.status);
    if (c.observed_generation) j["observedGeneration"] = value::number(*c.observed_generation);
    j["lastTransitionTime"] = value::string(c.last_transition_time);
    j["reason"] = value::string(c.reason);
    j["message"] = value::string(c.message);
    conditions.push_back(std::move(j));
  }
  out["conditions"] = value::array(std::move(conditions));
  if (status.last_failure) {
    value lf = value::object(true);
    lf["reason"] = value::string(status.last_failure->reason);
    lf["message"] = value::string(status.last_failure->message);
    if (!status.last_failure->pod.empty()) lf["pod"] = value::string(status.last_failure->pod);
    if (!status.last_failure->time.empty()) lf["time"] = value::string(status.last_failure->time);
    out["lastFailure"] = lf;
  }
  return out;
}

}  // namespace wo::api
