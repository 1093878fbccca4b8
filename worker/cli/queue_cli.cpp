#include "cli/queue_cli.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/output.h"
#include "core/config.h"
#include "core/database.h"
#include "queue/admin.h"
#include "queue/enqueue.h"
#include "wo/cli.h"
#include "wo/text.h"
#include "wo/version.h"

namespace wo::worker::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitDatabase = 1;
constexpr int kExitUsage = 2;
constexpr std::size_t kMessageColumnBytes = 60;

// Bad input: exit 2 with this one-line message.
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Which flags each subcommand takes besides the connection, configuration and output ones; the others
// are refused rather than ignored, so `retry --id=5 --older-than=1h` cannot mean something unexpected.
const std::map<std::string, std::set<std::string>>& subcommands() {
  static const std::map<std::string, std::set<std::string>> m = {
      {"stats", {}},      {"list", {"state", "limit"}},
      {"show", {"id"}},   {"retry", {"id", "state", "older-than"}},
      {"cancel", {"id"}}, {"purge", {"state", "older-than"}},
  };
  return m;
}

std::string subcommand_names() {
  std::string out;
  for (const auto& [name, _] : subcommands()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string state_names() {
  std::string out;
  for (const char* s : wo::queue::kStates) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

const char* const kSummary =
    "Inspects and repairs a queue table: stats | list | show | retry | cancel | purge.\n"
    "The table is --table, or the `table` key of the job's configuration (--config, /etc/worker/config.yaml;\n"
    "with a `jobs:` file, the section of --job). See docs/worker.md, \"Queue CLI\".";

void declare_flags(wo::cli::FlagSet& flags) {
  flags.add_string("table", "", "", "queue table (default: the configuration's `table`)");
  flags.add_string("job", "", "", "with a config file holding several jobs (`jobs:`), whose `table` to use");
  declare_config_flag(flags);
  declare_database_flags(flags);
  flags.add_string("state", "", "",
                   "list: only this state; retry: failed | canceled; purge: completed | failed | canceled");
  flags.add_string("id", "", "", "one record's id (show, cancel, retry)");
  flags.add_duration("older-than", "", std::chrono::milliseconds(0), "retry, purge: finished at least this long ago");
  flags.add_int("limit", "", 20, "list: at most this many records, newest first");
  flags.add_string("output", "", "table", "table | json (also -o json)");
}

// `-o json` and `-o=json` as --output: the FlagSet only knows --long flags.
std::vector<std::string> with_long_output_flag(int argc, const char* const argv[]) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o") {
      a = "--output";
    } else if (a.rfind("-o=", 0) == 0) {
      a = "--output=" + a.substr(3);
    }
    out.push_back(std::move(a));
  }
  return out;
}

int64_t parse_id(const std::string& text) {
  std::size_t used = 0;
  long long id = 0;
  try {
    id = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || id <= 0) {
    throw BadInput("bad --id \"" + text + "\": must be a positive integer");
  }
  return id;
}

// The table: --table, else the configuration's `table` (of --job's section in a `jobs:` file).
std::string table_name(const wo::cli::FlagSet& flags) {
  if (flags.is_set("table")) return flags.get_string("table");
  YAML::Node root;
  try {
    root = load_config_file(flags.get_string("config"));
  } catch (const ConfigFileError& e) {
    throw BadInput(e.what());
  }
  // Only const access, and IsDefined() before anything else: a missing key is an invalid node that throws
  // on IsMap(), and a non-const operator[] would add the key to the document.
  const YAML::Node& config = root;
  auto child = [](const YAML::Node& parent, const std::string& key) {
    return parent.IsDefined() && parent.IsMap() ? parent[key] : YAML::Node(YAML::NodeType::Undefined);
  };
  const YAML::Node jobs = child(config, "jobs");
  const bool several = jobs.IsDefined() && jobs.IsMap();
  const std::string job = flags.get_string("job");
  if (several && job.empty()) {
    throw BadInput("missing --table: the config file holds several jobs; pass --job=NAME or --table");
  }
  const YAML::Node table = child(several ? child(jobs, job) : config, "table");
  if (table.IsDefined() && table.IsScalar()) return table.Scalar();
  throw BadInput("missing --table: pass --table=NAME, or --config FILE whose job configuration has a `table` key");
}

struct Request {
  std::string sub;
  std::optional<wo::queue::QueueTable> table;
  wo::queue::RecordFilter filter;
  int limit = 20;
  bool json = false;
  DatabaseOptions database;
};

void check_state(const Request& r) {
  if (!r.filter.state) return;
  const std::string& s = *r.filter.state;
  if (!wo::queue::is_state(s)) {
    throw BadInput("unknown state \"" + s + "\" (states: " + state_names() + ")");
  }
  if (r.sub == "retry" && s != wo::queue::kFailed && s != wo::queue::kCanceled) {
    throw BadInput("retry --state=" + s + ": only failed or canceled records are retried");
  }
  if (r.sub == "purge" && s != wo::queue::kCompleted && s != wo::queue::kFailed && s != wo::queue::kCanceled) {
    throw BadInput("purge --state=" + s + ": only finished records (completed, failed, canceled) are purged");
  }
}

void check_required(const Request& r, const wo::cli::FlagSet& flags) {
  if ((r.sub == "show" || r.sub == "cancel") && !r.filter.id) throw BadInput(r.sub + " needs --id=N");
  if (r.sub == "retry" && !r.filter.id && !r.filter.state) {
    throw BadInput("retry needs --id=N, or --state=failed|canceled to retry all of them");
  }
  if (r.sub == "purge" && (!r.filter.state || !flags.is_set("older-than"))) {
    throw BadInput("purge needs --state=completed|failed|canceled and --older-than=DURATION (0s: all)");
  }
  if (r.limit < 1) throw BadInput("bad --limit " + std::to_string(r.limit) + ": must be at least 1");
}

Request parse(const std::string& sub, const wo::cli::FlagSet& flags) {
  Request r;
  r.sub = sub;
  for (const char* name : {"state", "id", "older-than", "limit"}) {
    if (flags.is_set(name) && subcommands().at(sub).count(name) == 0) {
      throw BadInput("--" + std::string(name) + " does not apply to " + sub);
    }
  }
  const std::string output = flags.get_string("output");
  if (output != "table" && output != "json") throw BadInput("bad --output \"" + output + "\": table or json");
  r.json = output == "json";
  if (flags.is_set("state")) r.filter.state = flags.get_string("state");
  if (flags.is_set("id")) r.filter.id = parse_id(flags.get_string("id"));
  if (flags.is_set("older-than")) r.filter.older_than = flags.get_duration("older-than");
  r.limit = static_cast<int>(std::clamp<long long>(flags.get_int("limit"), 0, 1000000));
  check_state(r);
  check_required(r, flags);
  try {
    r.table.emplace(table_name(flags));
  } catch (const ConfigError& e) {
    throw BadInput("bad table name: " + std::string(e.what()));
  }
  r.database = database_options(flags, "worker:queue-cli");
  return r;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

void print_stats(const Request& r, const wo::queue::QueueStats& st) {
  const std::string oldest = st.oldest_due_id ? std::to_string(*st.oldest_due_id) : "";
  if (r.json) {
    std::string out = "{\"table\": " + json_string(r.table->name()) + ", \"states\": {";
    std::string capped;
    for (std::size_t i = 0; i < st.states.count.size(); ++i) {
      out += (i ? ", " : "") + json_string(wo::queue::kStates[i]) + ": " + std::to_string(st.states.count[i]);
      if (st.states.capped[i]) capped += (capped.empty() ? "" : ", ") + json_string(wo::queue::kStates[i]);
    }
    out += "}, \"capped_states\": [" + capped + "], \"count_cap\": " + std::to_string(wo::queue::kStateCountCap) +
           ", \"due_now\": " + std::to_string(st.due_now) + ", \"lag_seconds\": " + seconds_text(st.lag_seconds) +
           ", \"oldest_due_id\": " + (oldest.empty() ? "null" : oldest) + ", \"finished\": {";
    for (std::size_t i = 0; i < st.finished.size(); ++i) {
      const auto& [minutes, tp] = st.finished[i];
      out += (i ? ", " : "") + json_string(std::to_string(minutes) + "m") +
             ": {\"completed\": " + std::to_string(tp.completed) + ", \"failed\": " + std::to_string(tp.failed) + "}";
    }
    std::cout << out << "}}\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"table", r.table->name()}};
  for (std::size_t i = 0; i < st.states.count.size(); ++i) {
    // A capped count is a lower bound (wo::queue::state_counts).
    rows.push_back({wo::queue::kStates[i], (st.states.capped[i] ? ">= " : "") + std::to_string(st.states.count[i])});
  }
  rows.push_back({"due now", std::to_string(st.due_now)});
  rows.push_back({"lag", seconds_text(st.lag_seconds) + "s"});
  rows.push_back({"oldest due id", oldest.empty() ? "-" : oldest});
  for (const auto& [minutes, tp] : st.finished) {
    rows.push_back({"finished, last " + std::to_string(minutes) + "m",
                    std::to_string(tp.completed) + " completed, " + std::to_string(tp.failed) + " failed"});
  }
  std::cout << format_table(rows);
}

// A failure message on one table line: newlines and tabs as spaces, cut on a character boundary.
std::string one_line(const std::string& message) {
  std::string flat = message;
  std::replace_if(
      flat.begin(), flat.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return wo::text::clean(flat, kMessageColumnBytes);
}

void print_list(const Request& r, const std::vector<wo::queue::RecordSummary>& records) {
  if (r.json) {
    std::string out = "[";
    for (std::size_t i = 0; i < records.size(); ++i) out += (i ? ",\n " : "") + records[i].json;
    std::cout << out << "]\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "STATE", "PRIORITY", "FAILURES", "RESETS", "QUEUED_AT (UTC)",
                                                 "PROCESS_AFTER", "FINISHED_AT", "FAILURE_MESSAGE"}};
  for (const auto& s : records) {
    rows.push_back({std::to_string(s.id), s.state, std::to_string(s.priority), std::to_string(s.num_failures),
                    std::to_string(s.num_resets), s.queued_at, s.process_after,
                    s.finished_at.empty() ? "-" : s.finished_at,
                    s.failure_message ? one_line(*s.failure_message) : "-"});
  }
  std::cout << format_table(rows);
}

void print_show(const Request& r, const wo::queue::RecordDetail& d) {
  if (r.json) {
    std::cout << d.json << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, value] : d.columns) rows.push_back({name, value.value_or("NULL")});
  std::cout << format_table(rows);
}

void print_changed(const Request& r, const std::string& verb, const std::vector<int64_t>& ids) {
  std::string list;
  for (int64_t id : ids) list += (list.empty() ? "" : r.json ? ", " : " ") + std::to_string(id);
  if (r.json) {
    std::cout << "{\"changed\": " << ids.size() << ", \"ids\": [" << list << "]}\n";
  } else {
    std::cout << verb << " " << ids.size() << (ids.size() == 1 ? " record" : " records") << (ids.empty() ? "" : ": ")
              << list << "\n";
  }
}

// request_cancel, in its own transaction, and the state it left: a waiting record is canceled at once,
// a processing one keeps running until its worker's next heartbeat sees the request.
void cancel(pqxx::connection& conn, const Request& r) {
  const int64_t id = *r.filter.id;
  pqxx::work tx(conn);
  const bool requested = wo::queue::request_cancel(tx, r.table->name(), id);
  const std::string state =
      requested ? tx.exec_params1("SELECT state FROM " + r.table->quoted() + " WHERE id = $1", id)[0].as<std::string>()
                : "";
  tx.commit();
  if (r.json || !requested) {
    print_changed(r, "canceled", requested ? std::vector<int64_t>{id} : std::vector<int64_t>{});
    if (!requested) std::cerr << "record " << id << " is unknown or already finished: nothing to cancel\n";
  } else if (state == wo::queue::kCanceled) {
    std::cout << "record " << id << " canceled\n";
  } else {
    std::cout << "record " << id << " is " << state
              << ": cancellation requested; its worker stops it at its next heartbeat\n";
  }
}

void execute(pqxx::connection& conn, const Request& r) {
  const wo::queue::QueueTable& t = *r.table;
  if (r.sub == "stats") {
    print_stats(r, wo::queue::queue_stats(conn, t));
  } else if (r.sub == "list") {
    print_list(r, wo::queue::list_records(conn, t, r.filter.state.value_or(""), r.limit));
  } else if (r.sub == "show") {
    auto detail = wo::queue::show_record(conn, t, *r.filter.id);
    if (!detail) throw BadInput("no record with id " + std::to_string(*r.filter.id) + " in table \"" + t.name() + "\"");
    print_show(r, *detail);
  } else if (r.sub == "retry") {
    print_changed(r, "retried", wo::queue::retry_records(conn, t, r.filter));
  } else if (r.sub == "cancel") {
    cancel(conn, r);
  } else if (r.sub == "purge") {
    print_changed(r, "purged", wo::queue::purge_records(conn, t, r.filter));
  }
}

// Connects, checks the table, runs the request. Database errors carry the subcommand and the table.
int run_request(const Request& r) {
  const std::string context = "queue " + r.sub + " on table \"" + r.table->name() + "\"";
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = connect(r.database);
    pqxx::nontransaction(*conn).exec("SET TIME ZONE 'UTC'");
    if (!wo::queue::table_exists(*conn, *r.table)) {
      throw BadInput("unknown table \"" + r.table->name() +
                     "\": not in the database (a job creates its table when it first starts)");
    }
    execute(*conn, r);
  } catch (const BadInput&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    what.erase(what.find_last_not_of('\n') + 1);
    throw std::runtime_error(context + ": " + what);
  }
  return kExitOk;
}

int run(int argc, const char* const argv[], std::string_view commit) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    wo::cli::FlagSet flags("worker queue stats|list|show|retry|cancel|purge", kSummary);
    declare_flags(flags);
    if (argc < 2) throw BadInput("missing subcommand (" + subcommand_names() + "; see worker queue --help)");
    std::cout << flags.usage();
    return kExitOk;
  }
  const std::string sub = argv[1];
  if (sub == "--version") {
    std::cout << wo::version_line("worker", commit) << "\n";
    return kExitOk;
  }
  if (subcommands().count(sub) == 0) {
    throw BadInput("unknown subcommand \"" + sub + "\" (" + subcommand_names() + ")");
  }
  wo::cli::FlagSet flags("worker queue " + sub, kSummary);
  declare_flags(flags);
  std::vector<std::string> args = with_long_output_flag(argc - 1, argv + 1);
  std::vector<const char*> ptrs;
  ptrs.reserve(args.size());
  for (const auto& a : args) ptrs.push_back(a.c_str());
  try {
    flags.parse(static_cast<int>(ptrs.size()), ptrs.data());
  } catch (const wo::cli::UsageError& e) {
    throw BadInput(e.what());
  }
  if (flags.get_bool("help")) {
    std::cout << flags.usage();
    return kExitOk;
  }
  if (flags.get_bool("version")) {
    std::cout << wo::version_line("worker", commit) << "\n";
    return kExitOk;
  }
  return run_request(parse(sub, flags));
}

}  // namespace

int run_queue_cli(int argc, const char* const argv[], std::string_view commit) {
  try {
    return run(argc, argv, commit);
  } catch (const BadInput& e) {
    std::cerr << "worker queue: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "worker queue: " << e.what() << "\n";
    return kExitDatabase;
  }
}

}  // namespace wo::worker::cli
