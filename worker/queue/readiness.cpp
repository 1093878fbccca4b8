#include "queue/readiness.h"

namespace wo::queue {

void PartsReadiness::set(const std::string& part, const std::string& reason) {
  std::lock_guard lock(mu_);
  if (reason.empty()) {
    not_ready_.erase(part);
  } else {
    not_ready_[part] = reason;
  }
  if (not_ready_.empty()) {
    publish_(true, "");
  } else {
    publish_(false, not_ready_.begin()->second);
  }
}

}  // namespace wo::queue
