// The commit the binary was built from, for --version and the *_build_info metric (the version itself is
// wo/version.h's).
//
// Linked only into the two binaries: the commit changes with every commit, and only what links this
// library is relinked for it (not every test); the binaries hand it to the code that needs it.
#pragma once

#include <string_view>

namespace wo::build_info {

// The git commit of the sources (12 hex digits, "-dirty" when tracked files had changes), or "unknown"
// when built outside a git checkout without WO_GIT_COMMIT.
std::string_view git_commit();

}  // namespace wo::build_info
