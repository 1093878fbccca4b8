// libFuzzer harness for everything that reads untrusted text on its way to the operator:
// JSON → WorkerJob (parse + validate), YAML → JSON (multi-document), quantities, and rendering
// of whatever validates. Any crash, leak, sanitizer report or uncaught exception is a bug.
// Built and run by hack/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/json_text.h"
#include "api/quantity.h"
#include "api/tests/workerjob_json.h"
#include "api/workerjob.h"
#include "api/yaml_json.h"
#include "workerjob/render.h"

namespace {

void use(const wo::api::Parsed<wo::api::WorkerJob>& parsed) {
  if (!parsed.ok()) {
    (void)parsed.error_text();
    return;
  }
  (void)wo::api::to_pretty_json(wo::api::testing::to_json(*parsed.value));
  auto rendered = wo::workerjob::render(*parsed.value, {.worker_image = "worker:fuzz"});
  if (rendered.ok()) (void)wo::api::to_pretty_json(rendered.value->deployment);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  use(wo::api::parse_workerjob(text));

  std::string error;
  if (auto docs = wo::api::yaml_to_json(text, &error)) {
    for (const auto& doc : *docs) {
      (void)wo::api::to_pretty_json(doc);
      use(wo::api::parse_workerjob(doc));
    }
  }

  if (size <= 80) {
    if (auto q = wo::api::Quantity::parse(text, &error)) (void)q->compare(*wo::api::Quantity::parse("1Gi"));
  }
  return 0;
}
