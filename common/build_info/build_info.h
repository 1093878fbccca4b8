// What `--version` prints: the project's version and the commit the binary was built from.
//
// Linked only into the two binaries: the commit changes with every commit, and only what links this
// library is relinked for it (not every test).
#pragma once

#include <string>
#include <string_view>

namespace wo::build_info {

// The git commit of the sources (12 hex digits, "-dirty" when tracked files had changes), or "unknown"
// when built outside a git checkout without WO_GIT_COMMIT.
std::string_view git_commit();

// "<program> <version> (commit <commit>)", the whole output of --version.
std::string version_line(std::string_view program);

}  // namespace wo::build_info
