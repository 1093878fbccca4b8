// worker_operator_workerjobs{ready, reason}: how many WorkerJobs the operator's cache holds by their
// Ready condition's status and reason, counted from the cache at every scrape. It makes "a WorkerJob is
// Degraded" alertable from the operator's own /metrics, with no kube-state-metrics configuration.
#pragma once

#include "kube/store.h"
#include "wo/metrics.h"

namespace wo::workerjob {

// Registers the gauge on registry; workerjobs is the WorkerJob informer's store (it must outlive the
// registry's renders). A WorkerJob without a Ready condition yet counts as ready="Unknown", reason="".
void register_status_metrics(metrics::Registry& registry, const kube::Store& workerjobs);

}  // namespace wo::workerjob
