#include "testing/wait.h"

#include <algorithm>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

namespace wo::testing {
namespace {

// One evaluation: the condition's value, or nullopt with `error` set when it threw.
std::optional<bool> evaluate(const std::function<bool()>& condition, std::string& error) {
  try {
    return condition();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "an exception not derived from std::exception";
  }
  return std::nullopt;
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string error;
  for (;;) {
    const std::optional<bool> held = evaluate(condition, error);
    if (held.value_or(false)) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!held)
        std::cerr << "wait_until: gave up after " << timeout.count() << " ms; the condition last threw: " << error
                  << "\n";
      return false;
    }
    std::this_thread::sleep_until(std::min(deadline, std::chrono::steady_clock::now() + poll));
  }
}

}  // namespace wo::testing
