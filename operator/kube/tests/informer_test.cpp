// The informer's lists against an API server of the test's own that serves ConfigMaps in pages and
// answers every watch with 410, so that the informer relists (after a short backoff) again and again.
// Each list is a "round"; the server decides per round what each page holds and whether a page fails.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fake_api_server.h"
#include "kube/informer.h"
#include "kube/object.h"
#include "testing/wait.h"

namespace wo::kube {
namespace {

using namespace std::chrono_literals;
using web::http::http_request;
using web::http::status_codes;
using web::json::value;

value config_map(const std::string& name, const std::string& rv) {
  return value::parse(R"({"metadata":{"name":")" + name + R"(","namespace":"test","resourceVersion":")" + rv +
                      R"(","managedFields":[{"manager":"kubectl"}]},"data":{"k":"v"}})");
}

// What one page of one round holds; `fails` answers it with 410 Expired instead (an expired continue
// token). A page with a continue token leads to the next page of the same round.
struct Page {
  std::vector<value> items;
  bool fails = false;
};
using Round = std::vector<Page>;

class PagedApi {
 public:
  // rounds: the lists the server answers, in turn; the last one is repeated for every later list.
  PagedApi(testing::Pki& pki, std::vector<Round> rounds)
      : rounds_(std::move(rounds)), server_(pki, [this](const http_request& rq) { answer(rq); }) {}
  Config config() const { return server_.config(); }
  void close() { server_.close(); }
  int lists_begun() const {
    std::lock_guard lock(mu_);
    return lists_begun_;
  }

 private:
  void answer(const http_request& rq) {
    const auto query = web::uri::split_query(rq.request_uri().query());
    if (query.count("watch") != 0) {
      rq.reply(status_codes::Gone, testing::status(410, "Expired", "too old"));
      return;
    }
    std::size_t page_index = 0;
    std::lock_guard lock(mu_);
    if (const auto it = query.find("continue"); it != query.end()) {
      page_index = std::stoul(it->second);
    } else {
      ++lists_begun_;
    }
    const Round& round = rounds_.at(std::min<std::size_t>(lists_begun_, rounds_.size()) - 1);
    const Page& page = round.at(page_index);
    if (page.fails) {
      rq.reply(status_codes::Gone, testing::status(410, "Expired", "the continue token has expired"));
      return;
    }
    value list = value::object();
    list["kind"] = value::string("ConfigMapList");
    list["apiVersion"] = value::string("v1");
    list["metadata"] = value::object();
    list["metadata"]["resourceVersion"] = value::string("100");
    if (page_index + 1 < round.size()) list["metadata"]["continue"] = value::string(std::to_string(page_index + 1));
    list["items"] = value::array();
    for (std::size_t i = 0; i < page.items.size(); ++i) list["items"][i] = page.items[i];
    rq.reply(status_codes::OK, list);
  }

  mutable std::mutex mu_;
  std::vector<Round> rounds_;
  int lists_begun_ = 0;
  testing::FakeApiServer server_;  // last: it calls answer() until it is closed
};

ReflectorOptions configmaps_in_test() {
  ReflectorOptions o;
  o.resource = {"", "v1", "configmaps", true, "ConfigMap"};
  o.namespace_ = "test";
  o.page_size = 2;
  o.initial_backoff = 10ms;
  o.max_backoff = 20ms;
  return o;
}

// Every event the informer delivered, as "add a", "update b", "delete c", with the number of lists the
// server had begun when it came and whether the informer had synced by then.
struct EventLog {
  struct Entry {
    std::string what;
    int lists_begun;
    bool synced;
  };
  std::mutex mu;
  std::vector<Entry> entries;

  void attach(Informer& informer, const PagedApi& api) {
    auto note = [this, &informer, &api](const std::string& verb, const ObjectPtr& o) {
      std::lock_guard lock(mu);
      entries.push_back({verb + " " + meta_string(*o, "name"), api.lists_begun(), informer.has_synced()});
    };
    informer.add_handlers({[note](const ObjectPtr& o) { note("add", o); },
                           [note](const ObjectPtr&, const ObjectPtr& o) { note("update", o); },
                           [note](const ObjectPtr& o) { note("delete", o); }});
  }
  std::vector<Entry> snapshot() {
    std::lock_guard lock(mu);
    return entries;
  }
  std::optional<Entry> find(const std::string& what) {
    for (const auto& e : snapshot()) {
      if (e.what == what) return e;
    }
    return std::nullopt;
  }
};

// An informer of ConfigMaps in "test" against a PagedApi serving rounds, started, its events logged.
struct PagedInformer {
  PagedInformer(testing::Pki& pki, std::vector<Round> rounds)
      : api(pki, std::move(rounds)), client(api.config()), informer(client, configmaps_in_test()) {
    log.attach(informer, api);
    informer.start();
  }
  ~PagedInformer() {
    informer.stop();
    api.close();  // before the client goes (see FakeApiServer::close)
  }
  PagedInformer(const PagedInformer&) = delete;
  PagedInformer& operator=(const PagedInformer&) = delete;
  PagedApi api;
  Client client;
  EventLog log;       // before the informer: its handlers write here until it stops
  Informer informer;  // last: stopped first
};

class InformerPaging : public ::testing::Test {
 protected:
  testing::TempDir dir;
  testing::Pki pki{dir};
};

// Round 1: a, b | c (complete). Round 2: a, b' | 410 (fails midway). Round 3 and later: a, b' | (empty).
// c must survive round 2 and go only when round 3 completes; b' is an update, a (unchanged) no event.
TEST_F(InformerPaging, PagesAreStoredAsTheyArriveAndOnlyACompleteListSweeps) {
  const Round complete_first{{{config_map("a", "1"), config_map("b", "1")}}, {{config_map("c", "1")}}};
  const Round fails_midway{{{config_map("a", "1"), config_map("b", "2")}}, {{}, true}};
  const Round without_c{{{config_map("a", "1"), config_map("b", "2")}}, {{}}};
  PagedInformer run(pki, {complete_first, fails_midway, without_c});
  EventLog& log = run.log;
  Informer& informer = run.informer;
  ASSERT_TRUE(wo::testing::wait_until([&] { return log.find("delete c").has_value(); }, 10s, 10ms));
  informer.stop();

  const auto entries = log.snapshot();
  std::vector<std::string> order;
  order.reserve(entries.size());
  for (const auto& e : entries) order.push_back(e.what);
  EXPECT_EQ(order, (std::vector<std::string>{"add a", "add b", "add c", "update b", "delete c"}));
  EXPECT_GE(log.find("delete c")->lists_begun, 3) << "a list that failed midway swept c";
  EXPECT_EQ(log.find("update b")->lists_begun, 2) << "the first page of a list is stored before the list ends";
  EXPECT_FALSE(log.find("add c")->synced) << "synced before the first list was complete";
  EXPECT_TRUE(informer.has_synced());
  EXPECT_EQ(informer.store().size(), 2u);
}

// The first list fails on its second page: the informer must not count as synced until a list completes.
TEST_F(InformerPaging, SyncedOnlyAfterACompleteFirstList) {
  const Round fails_midway{{{config_map("a", "1")}}, {{}, true}};
  const Round complete{{{config_map("a", "1")}}, {{config_map("b", "1")}}};
  PagedInformer run(pki, {fails_midway, fails_midway, complete});
  EventLog& log = run.log;
  Informer& informer = run.informer;
  const PagedApi& api = run.api;
  ASSERT_TRUE(informer.wait_for_sync(10s));
  informer.stop();
  EXPECT_GE(api.lists_begun(), 3);
  ASSERT_TRUE(log.find("add b").has_value());
  EXPECT_FALSE(log.find("add a")->synced);
  EXPECT_FALSE(log.find("add b")->synced);
  ASSERT_TRUE(informer.reflector().last_error() == std::nullopt);
}

// The transform sees the lean object (no managedFields) and what it returns is what is stored and
// what handlers get.
TEST_F(InformerPaging, TheTransformDecidesWhatIsStoredAndDelivered) {
  PagedApi api(pki, {Round{{{config_map("a", "1")}}}});
  Client client(api.config());
  ReflectorOptions options = configmaps_in_test();
  std::atomic<bool> saw_managed_fields{false};
  options.transform = [&saw_managed_fields](value o) {
    if (o.at("metadata").has_field("managedFields")) saw_managed_fields = true;
    o.erase("data");
    o["metadata"]["annotations"] = value::parse(R"({"projected":"yes"})");
    return o;
  };
  Informer informer(client, options);
  std::mutex mu;
  std::vector<ObjectPtr> added;
  informer.add_handlers({[&](const ObjectPtr& o) {
                           std::lock_guard lock(mu);
                           added.push_back(o);
                         },
                         nullptr, nullptr});
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(10s));
  informer.stop();
  const ObjectPtr stored = informer.store().get("test/a");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(stored->has_field("data"));
  EXPECT_EQ(nested_string(*stored, {"metadata", "annotations", "projected"}), "yes");
  EXPECT_EQ(nested_string(*stored, {"kind"}), "ConfigMap") << "list items carry their kind";
  EXPECT_FALSE(saw_managed_fields) << "the transform runs after lean()";
  std::lock_guard lock(mu);
  ASSERT_FALSE(added.empty());
  EXPECT_EQ(*added.front(), *stored);
}

}  // namespace
}  // namespace wo::kube
