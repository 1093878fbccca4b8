#pragma once
// Drift detection: does the live object still hold every field the operator applies?
//
// The operator applies with server-side apply, which is a no-op on the server when nothing changed,
// but each apply is still a request. Comparing the rendered object with the cached live one first
// keeps reconciles triggered by status updates (the Deployment controller writes status often) from
// sending writes, while a hand edit of any field the operator owns is still seen and put back.

#include <cpprest/json.h>

namespace wo::workerjob {

// True when every field of `desired` is present in `live` with the same value. Objects compare as
// subsets (the server adds defaults); arrays element by element with the same length; strings under a
// "resources" key compare as Kubernetes quantities (the server rewrites "0.5" as "500m").
bool contains(const web::json::value& live, const web::json::value& desired);

}  // namespace wo::workerjob
