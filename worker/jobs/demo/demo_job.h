#pragma once
// demo.sleep's routines, shared with the demo stand-ins for the proposal's jobs (jobs/demo/campaigns_jobs.cpp).

#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"

namespace wo::jobs {

std::vector<std::unique_ptr<wo::worker::Routine>> build_demo_job(const wo::worker::JobContext& ctx);
const std::string& demo_job_config_help();

}  // namespace wo::jobs
