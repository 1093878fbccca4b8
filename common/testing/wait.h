// Waiting in tests: a condition evaluated until it holds or a deadline passes, never a fixed sleep.
//
// One helper for every test (unit, integration, end-to-end) so that all of them wait the same way: the
// condition first, then how long to wait at most, then how often to look.
#pragma once

#include <chrono>
#include <functional>

namespace wo::testing {

inline constexpr std::chrono::milliseconds kDefaultWaitTimeout = std::chrono::seconds(30);
inline constexpr std::chrono::milliseconds kDefaultPollInterval = std::chrono::milliseconds(20);

// Evaluates `condition` until it returns true or `timeout` has passed, `poll` apart; returns whether it
// held. The condition is evaluated once more at the deadline, so a timeout shorter than `poll` still
// looks twice.
//
// An exception from `condition` counts as "not yet" (a kubectl get of an object still being created, a
// connection to a server still starting); if the deadline passes while the condition still throws, the
// last exception's message goes to stderr, so the failing test shows why rather than only `false`.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kDefaultWaitTimeout,
                std::chrono::milliseconds poll = kDefaultPollInterval);

}  // namespace wo::testing
