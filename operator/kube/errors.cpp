#include "errors.h"

namespace wo::kube {
namespace {

std::string field(const web::json::value& obj, const char* key) {
  if (!obj.is_object() || !obj.has_field(key)) return {};
  const auto& v = obj.at(key);
  return v.is_string() ? v.as_string() : std::string{};
}

std::string describe(int code, const std::string& reason, const std::string& message, const std::string& context) {
  std::string out = context + ": " + std::to_string(code);
  if (!reason.empty()) out += " " + reason;
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace

ApiError::ApiError(int code, std::string reason, std::string message, const std::string& context,
                   web::json::value status)
    : std::runtime_error(describe(code, reason, message, context)),
      code_(code),
      reason_(std::move(reason)),
      message_(std::move(message)),
      status_(std::move(status)) {}

ApiError ApiError::from_response(int http_code, const std::string& body, const std::string& context) {
  web::json::value status;
  try {
    status = web::json::value::parse(body);
  } catch (const std::exception&) {
    status = web::json::value::null();
  }
  if (status.is_object() && field(status, "kind") == "Status") {
    return ApiError(http_code, field(status, "reason"), field(status, "message"), context, status);
  }
  // Not a Status (a proxy or a crashed server): keep a bounded excerpt of the body.
  return ApiError(http_code, "", body.substr(0, 512), context);
}

ApiError ApiError::from_status(const web::json::value& status, const std::string& context) {
  int code = 0;
  if (status.is_object() && status.has_field("code") && status.at("code").is_integer()) {
    code = status.at("code").as_integer();
  }
  return ApiError(code, field(status, "reason"), field(status, "message"), context, status);
}

}  // namespace wo::kube
