#pragma once
// YAML manifests to the JSON the API server sees, resolving plain scalars the way kubectl does
// (sigs.k8s.io/yaml on top of go-yaml v2), not the way yaml-cpp or YAML 1.2 would:
//   - null:  "" ~ null Null NULL
//   - bools: y Y yes Yes YES on On ON true True TRUE, and n N no No NO off Off OFF false False FALSE
//   - ints:  Go's strconv.ParseInt(s, 0, 64) after removing "_": 0644 is octal (420), 0x1F hex,
//            0b101 binary; past int64 up to 2^64-1 an unsigned int; integers beyond that keep their text
//   - floats: the YAML float syntax (1.5, .5, 1e3); a float with an integral value below 2^63
//            becomes a JSON integer (as Go's encoder writes 8.0 as 8); .inf and .nan are errors
//            (JSON has no such numbers)
//   - everything quoted, block scalars (| >) and timestamps stay strings
// Keys become strings (yes: -> "true"). Duplicate keys are errors (yaml-cpp would silently keep
// the first); merge keys (<<) are resolved; aliases are expanded within a size budget; nesting is
// bounded. Built on yaml-cpp's event parser, guarding against its known hang (a stray "," at
// document level made YAML::LoadAll produce empty documents forever).

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wo::api {

// Every non-empty document of a multi-document stream ("---" separated), in order. On failure
// returns nullopt and sets `error` to e.g. "line 4, column 3: duplicate key \"image\"".
std::optional<std::vector<web::json::value>> yaml_to_json(std::string_view text, std::string* error);

}  // namespace wo::api
