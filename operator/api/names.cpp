#include "api/names.h"

namespace wo::api {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9');
}

// Dot-separated DNS labels with a total length bound.
bool is_dotted_labels(std::string_view s, std::size_t max_length) {
  if (s.empty() || s.size() > max_length) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? up to 63 characters.
bool is_name_part(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (const char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  for (const char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

bool is_dns_subdomain(std::string_view s) {
  return is_dotted_labels(s, 253);
}

bool is_job_name(std::string_view s) {
  return is_dotted_labels(s, 63);
}

bool is_qualified_name(std::string_view s) {
  const std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return is_name_part(s);
  return is_dns_subdomain(s.substr(0, slash)) && is_name_part(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) {
  return s.empty() || is_name_part(s);
}

bool is_env_var_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  if (!is_alpha(s.front()) && s.front() != '-' && s.front() != '.' && s.front() != '_') return false;
  for (const char c : s) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

bool is_condition_reason(std::string_view s) {
  if (s.empty() || s.size() > 1024 || !is_alpha(s.front())) return false;
  for (const char c : s) {
    if (!is_alnum(c) && c != '_' && c != ',' && c != ':') return false;
  }
  return is_alnum(s.back()) || s.back() == '_';
}

}  // namespace wo::api
