// Names for objects that tests create in a shared place (a cluster's namespaces, for example).
//
// Tests run in parallel processes, and a name used by an earlier run may still exist (a namespace stays
// Terminating for seconds after its delete), so a name must not repeat across processes or runs: 10
// random base-36 characters (about 51 bits) make a repeat practically impossible, where the 6 decimal
// digits used before did repeat within a single `make test`.
#pragma once

#include <random>
#include <string>

namespace wo::testing {

// `prefix-` followed by 10 random characters from [0-9a-z]: a valid DNS-1123 label for prefixes that are.
inline std::string unique_name(const std::string& prefix) {
  std::random_device rd;
  std::uniform_int_distribution<int> digit(0, 35);
  std::string name = prefix + "-";
  for (int i = 0; i < 10; ++i) {
    const int c = digit(rd);
    name.push_back(static_cast<char>(c < 10 ? '0' + c : 'a' + (c - 10)));
  }
  return name;
}

}  // namespace wo::testing
