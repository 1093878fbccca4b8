// Golden files: every WorkerJob in manifests/samples/ (and the test-only manifests in testdata/)
// rendered to its Deployment and ConfigMap, checked in under tests/golden/ as pretty JSON.
// A change to the rendering shows up as a diff in review. Regenerate with
//   WO_UPDATE_GOLDEN=1 ctest -R Golden
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/json_text.h"
#include "api/workerjob.h"
#include "api/yaml_json.h"
#include "workerjob/render.h"

namespace wo::workerjob {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  return WO_SOURCE_DIR;
}
fs::path golden_dir() {
  return source_dir() / "operator/workerjob/tests/golden";
}
// Samples carry no uid (the API server assigns one); the golden files use this one.
constexpr const char* kFakeUid = "00000000-0000-0000-0000-000000000000";
constexpr const char* kGoldenImage = "worker:golden";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool updating() {
  const char* v = std::getenv("WO_UPDATE_GOLDEN");  // NOLINT(concurrency-mt-unsafe): tests never setenv
  return v != nullptr && std::string(v) == "1";
}

// The first differing line with a little context, diff style.
std::string describe_difference(const std::string& expected, const std::string& actual) {
  auto lines = [](const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const auto want = lines(expected);
  const auto got = lines(actual);
  std::size_t first = 0;
  while (first < want.size() && first < got.size() && want[first] == got[first]) ++first;
  std::ostringstream out;
  out << "first difference at line " << first + 1 << " (- golden, + rendered):\n";
  const std::size_t from = first >= 3 ? first - 3 : 0;
  for (std::size_t i = from; i < first; ++i) out << "  " << want[i] << "\n";
  for (std::size_t i = first; i < std::min(want.size(), first + 6); ++i) out << "- " << want[i] << "\n";
  for (std::size_t i = first; i < std::min(got.size(), first + 6); ++i) out << "+ " << got[i] << "\n";
  out << "If the change is intended, regenerate with WO_UPDATE_GOLDEN=1 and review the diff.";
  return out.str();
}

void check_golden(const fs::path& golden, const std::string& actual, std::set<fs::path>& used) {
  used.insert(golden);
  if (updating()) {
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; create it with WO_UPDATE_GOLDEN=1";
  const std::string expected = read_file(golden);
  EXPECT_EQ(expected, actual) << golden.filename() << ": " << describe_difference(expected, actual);
}

std::vector<fs::path> manifests() {
  std::vector<fs::path> out;
  for (const auto& dir : {source_dir() / "manifests/samples", source_dir() / "operator/workerjob/tests/testdata"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".yaml") out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Golden, EveryWorkerJobManifestRendersToItsGoldenFiles) {
  std::set<fs::path> used;
  int workerjobs = 0;
  for (const auto& manifest : manifests()) {
    SCOPED_TRACE(manifest.string());
    std::string error;
    const auto docs = api::yaml_to_json(read_file(manifest), &error);
    ASSERT_TRUE(docs) << error;
    for (const auto& doc : *docs) {
      if (!doc.has_field("kind") || doc.at("kind") != web::json::value::string("WorkerJob")) continue;
      ++workerjobs;
      auto parsed = api::parse_workerjob(doc);
      ASSERT_TRUE(parsed.ok()) << parsed.error_text();
      api::WorkerJob job = *parsed.value;
      if (job.metadata.uid.empty()) job.metadata.uid = kFakeUid;
      const auto rendered = render(job, RenderOptions{.worker_image = kGoldenImage});
      ASSERT_TRUE(rendered.ok()) << rendered.error_text();
      const std::string base = job.metadata.namespace_ + "." + job.metadata.name;
      check_golden(golden_dir() / (base + ".deployment.json"), api::to_pretty_json(rendered.value->deployment), used);
      if (rendered.value->config_map) {
        check_golden(golden_dir() / (base + ".configmap.json"), api::to_pretty_json(*rendered.value->config_map), used);
      }
    }
  }
  EXPECT_GE(workerjobs, 4) << "the three samples and testdata/every-field.yaml";
  // A golden file nothing produces any more is stale.
  for (const auto& entry : fs::directory_iterator(golden_dir())) {
    if (used.count(entry.path()) == 0) {
      if (updating()) {
        fs::remove(entry.path());
      } else {
        ADD_FAILURE() << entry.path() << " is not produced by any manifest; delete it (WO_UPDATE_GOLDEN=1 does)";
      }
    }
  }
}

TEST(Golden, SamplesDirectoryAppliesInOrder) {
  // kubectl apply -f manifests/samples/ takes files in name order: the Namespace must come first.
  const auto all = manifests();
  std::vector<fs::path> samples;
  for (const auto& p : all) {
    if (p.parent_path().filename() == "samples") samples.push_back(p);
  }
  ASSERT_FALSE(samples.empty());
  std::string error;
  const auto first = api::yaml_to_json(read_file(samples.front()), &error);
  ASSERT_TRUE(first) << error;
  ASSERT_FALSE(first->empty());
  EXPECT_EQ(first->front().at("kind").as_string(), "Namespace") << samples.front();
}

}  // namespace
}  // namespace wo::workerjob
