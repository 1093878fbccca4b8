#pragma once
// Name formats the API validates, written as plain functions (no std::regex: its recursion
// overflows the stack on long input). Each mirrors a regular expression in crds/workerjob.yaml.

#include <string_view>

namespace wo::api {

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool is_dns_label(std::string_view s);
// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
bool is_dns_subdomain(std::string_view s);
// A job name: dot-separated RFC 1123 labels (e.g. campaigns.sync-registry), at most 63 characters
// (it becomes a label value).
bool is_job_name(std::string_view s);
// A qualified name, as for label and annotation keys: optional "<dns subdomain>/" prefix, then
// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 characters.
bool is_qualified_name(std::string_view s);
// A label value: empty, or [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 characters.
bool is_label_value(std::string_view s);
// An environment variable name: [-._a-zA-Z][-._a-zA-Z0-9]*, at most 256 characters.
bool is_env_var_name(std::string_view s);
// A condition reason: [A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?, at most 1024 characters.
bool is_condition_reason(std::string_view s);

}  // namespace wo::api
