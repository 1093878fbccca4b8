// Building a queue-backed job: the queue worker plus (unless disabled in the configuration) its resetter
// and janitor. What most jobs' build() functions return.
#pragma once

#include <memory>
#include <vector>

#include "core/registry.h"
#include "queue/options.h"
#include "queue/queue_worker.h"

namespace wo::queue {

std::vector<std::unique_ptr<wo::worker::Routine>> queue_job_routines(const wo::worker::JobContext& ctx,
                                                                     const QueueOptions& options, Handler handler);

}  // namespace wo::queue
