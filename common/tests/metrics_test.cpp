#include "wo/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace wo::metrics {
namespace {

TEST(Metrics, RendersCountersWithLabelsInOrder) {
  Registry r;
  auto& requests = r.counter("api_requests_total", "API requests.", {"verb", "code"});
  requests.with({"GET", "200"}).inc();
  requests.with({"GET", "200"}).inc(2);
  requests.with({"PATCH", "409"}).inc();
  const std::string text = r.render();
  EXPECT_NE(text.find("# HELP api_requests_total API requests.\n# TYPE api_requests_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("api_requests_total{verb=\"GET\",code=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("api_requests_total{verb=\"PATCH\",code=\"409\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, EscapesLabelValues) {
  Registry r;
  r.gauge("g", "h", {"l"}).with({"a\"b\\c\nd"}).set(1.5);
  EXPECT_NE(r.render().find("g{l=\"a\\\"b\\\\c\\nd\"} 1.5\n"), std::string::npos) << r.render();
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.histogram("d_seconds", "Durations.", {}, {0.1, 1});
  h.with({}).observe(0.05);
  h.with({}).observe(0.5);
  h.with({}).observe(5);
  const std::string text = r.render();
  EXPECT_NE(text.find("d_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_sum 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_count 3\n"), std::string::npos) << text;
}

TEST(Metrics, RejectsMisuse) {
  Registry r;
  r.counter("c", "h", {"a"});
  EXPECT_THROW(r.gauge("c", "h", {"a"}), std::invalid_argument);
  EXPECT_THROW(r.counter("c", "h", {"b"}), std::invalid_argument);
  EXPECT_THROW(r.counter("c", "h", {"a"}).with({}), std::invalid_argument);
  EXPECT_THROW(r.counter("c", "h", {"a"}).with({"x"}).inc(-1), std::invalid_argument);
  EXPECT_THROW(r.counter("bad name", "h"), std::invalid_argument);
}

TEST(Metrics, CollectCallbacksRunBeforeRender) {
  Registry r;
  auto& depth = r.gauge("queue_depth", "Depth.").with({});
  int sampled = 0;
  r.on_collect([&] { depth.set(++sampled * 10); });
  EXPECT_NE(r.render().find("queue_depth 10\n"), std::string::npos);
  EXPECT_NE(r.render().find("queue_depth 20\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.counter("n", "h", {"t"});
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.with({"x"}).inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.with({"x"}).value(), 40000);
}

}  // namespace
}  // namespace wo::metrics
