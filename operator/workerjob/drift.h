#pragma once
// When to apply: has the desired object changed since it was last applied, or has someone changed
// the live one?
//
// Every rendered object carries the fingerprint of its own rendering (render.h, kAppliedHashAnnotation),
// so the operator's last applied configuration travels with the live object. A fingerprint that
// differs means the WorkerJob (or the renderer) changed: apply, and server-side apply removes whatever
// the operator no longer sets, so adding, changing and removing any field converges. A fingerprint
// that matches still leaves hand edits to find: the rendered object must be contained in the live one.
//
// Comparing with the cached live object keeps reconciles triggered by status updates (the Deployment
// controller writes status often) from sending writes.

#include <cpprest/json.h>

#include <string>
#include <string_view>

namespace wo::workerjob {

// True when every field of `desired` is present in `live` with the same value. Objects compare as
// subsets (the server adds defaults); arrays element by element with the same length. What the API
// server normalises away compares equal: an empty string, object or array matches an absent field (Go's
// omitempty), and under a "resources" or "divisor" key values compare as Kubernetes quantities (the
// server rewrites "0.5" as "500m" and the number 1 as "1").
bool contains(const web::json::value& live, const web::json::value& desired);

// The fingerprint an object carries (metadata.annotations[kAppliedHashAnnotation]), or "".
std::string fingerprint_of(const web::json::value& object);

enum class ApplyNeed {
  kNone,     // the live object is what the operator applied, untouched
  kMissing,  // no live object
  kChanged,  // the rendering changed since the last apply (fingerprints differ)
  kDrifted,  // same rendering, but a field the operator sets was changed or removed by someone else
};

// `check_contents` false skips the hand-edit check: for an object whose rendering the server
// normalises in a way contains() does not know, where the check would ask for an apply every time.
ApplyNeed apply_need(const web::json::value& live, const web::json::value& desired, bool check_contents = true);
std::string_view to_string(ApplyNeed need);

}  // namespace wo::workerjob
