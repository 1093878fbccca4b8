#include "build_info.h"

#include "wo/version.h"

namespace wo::build_info {

std::string version_line(std::string_view program) {
  return std::string(program) + " " + std::string(kVersion) + " (commit " + std::string(git_commit()) + ")";
}

}  // namespace wo::build_info
