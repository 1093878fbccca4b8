// The readiness of a routine whose parts each hold their own database connection (a queue worker's
// dispatcher, completer and heartbeater): ready while every part is, else not ready with the reason of
// the first part that is not. Each change is published at once (thread-safe).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace wo::queue {

class PartsReadiness {
 public:
  using Publish = std::function<void(bool ready, const std::string& reason)>;
  explicit PartsReadiness(Publish publish) : publish_(std::move(publish)) {}

  // reason: why the part is not ready ("" when it is).
  void set(const std::string& part, const std::string& reason);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> not_ready_;  // part -> reason
  Publish publish_;
};

}  // namespace wo::queue
