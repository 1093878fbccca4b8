// JSON of a whole WorkerJob and of its spec, for tests (and the fuzzer) that build inputs or check
// that what the parser read parses back the same. The operator itself never writes a spec: it reads
// WorkerJobs and writes only their status (api::to_json(WorkerJobStatus)).
#pragma once

#include <cpprest/json.h>

#include "api/workerjob.h"

namespace wo::api::testing {

// Keys in a fixed order, only fields that are set.
web::json::value to_json(const WorkerJobSpec& spec);
web::json::value to_json(const WorkerJob& job);

}  // namespace wo::api::testing
