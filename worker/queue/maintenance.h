// The maintenance routines of a queue table, as periodic routines: the resetter (stalled records back to
// queued, or failed past max_resets) and the janitor (finished records deleted after retention, in
// bounded batches). Both are safe to run in every replica at once (FOR UPDATE SKIP LOCKED).
// ensure_schema: create/migrate the table before the first run (a queue job's own maintenance routines
// start together with its dispatcher); the standalone jobs leave foreign tables alone.
#pragma once

#include <memory>

#include "core/periodic.h"
#include "queue/options.h"

namespace wo::queue {

std::unique_ptr<wo::worker::PeriodicRoutine> make_resetter(const QueueOptions& options,
                                                           const wo::worker::DatabaseOptions& database,
                                                           metrics::Registry& registry, bool ensure_schema);
std::unique_ptr<wo::worker::PeriodicRoutine> make_janitor(const QueueOptions& options,
                                                          const wo::worker::DatabaseOptions& database,
                                                          metrics::Registry& registry, bool ensure_schema);

}  // namespace wo::queue
