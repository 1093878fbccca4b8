// DEMO stand-ins for the three jobs of the original proposal (campaigns.sync-registry,
// campaigns.reconciler, campaigns.spec-expire), so that manifests/samples/ and `make demo` run the
// proposal's deployment for real. Their business logic belongs to another product; here each one
// processes the records of its own queue table with demo.sleep's behaviour and configuration.
#include "jobs/demo/demo_job.h"

namespace wo::jobs {
namespace {

wo::worker::JobDefinition stand_in(const char* name, const char* what) {
  return {
      .name = name,
      .description = std::string("DEMO stand-in for the proposal's ") + what + " (runs demo.sleep on its table)",
      .config_help = demo_job_config_help(),
      .build = &build_demo_job,
  };
}

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTBEGIN(cert-err58-cpp)
const wo::worker::Registrar sync_registry(stand_in("campaigns.sync-registry", "changeset sync registry"));
const wo::worker::Registrar reconciler(stand_in("campaigns.reconciler", "changeset reconciler"));
const wo::worker::Registrar spec_expire(stand_in("campaigns.spec-expire", "expired spec cleaner"));
// NOLINTEND(cert-err58-cpp)

}  // namespace
}  // namespace wo::jobs
