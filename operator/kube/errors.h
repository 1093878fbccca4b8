// Failures of API calls: ApiError carries the API server's Status (code, reason, message);
// TransportError means no HTTP response arrived (connection refused or cut, TLS failure, timeout).
#pragma once

#include <cpprest/json.h>

#include <stdexcept>
#include <string>

namespace wo::kube {

class ApiError : public std::runtime_error {
 public:
  // status: the decoded metav1.Status when the body was one, else null. what = context + code + reason + message.
  ApiError(int code, std::string reason, std::string message, const std::string& context, web::json::value status = {});
  // Builds from an HTTP status and response body (a Status object or anything else).
  static ApiError from_response(int http_code, const std::string& body, const std::string& context);
  // Builds from a watch ERROR event's object (a Status).
  static ApiError from_status(const web::json::value& status, const std::string& context);

  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }
  const web::json::value& status() const { return status_; }

  bool is_not_found() const { return code_ == 404 || reason_ == "NotFound"; }
  bool is_already_exists() const { return reason_ == "AlreadyExists"; }
  bool is_conflict() const { return code_ == 409 || reason_ == "Conflict"; }
  // The resourceVersion or continue token is too old: relist (410 Gone, reason Expired or Gone).
  bool is_gone() const { return code_ == 410 || reason_ == "Expired" || reason_ == "Gone"; }
  bool is_invalid() const { return code_ == 422 || reason_ == "Invalid"; }
  bool is_unauthorized() const { return code_ == 401; }
  bool is_forbidden() const { return code_ == 403; }
  bool is_too_many_requests() const { return code_ == 429; }
  bool is_server_error() const { return code_ >= 500; }

 private:
  int code_;
  std::string reason_, message_;
  web::json::value status_;
};

class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace wo::kube
