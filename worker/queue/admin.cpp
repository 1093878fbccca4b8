#include "queue/admin.h"

#include <algorithm>
#include <stdexcept>

#include "queue/store.h"

namespace wo::queue {
namespace {

// A timestamp column as the listing shows it: UTC to the second, "" for NULL.
std::string utc(const std::string& column) {
  return "coalesce(to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '')";
}

// The ids of the records in `states` that filter matches, row-locked FOR UPDATE SKIP LOCKED: a row another
// transaction holds (a worker finishing it, the janitor deleting it) is skipped, never waited for. The
// filter arrives as text parameters $1 (id), $2 (state), $3 (older than, in ms), "" for absent, since
// libpqxx 6.4 has no optional parameters. limit_param: e.g. "LIMIT $4", or "".
std::string matching_ids(const QueueTable& table, const std::string& states, const std::string& limit_param) {
  return "SELECT q.id FROM " + table.quoted() + " q WHERE q.state IN (" + states +
         ")"
         " AND (NULLIF($1, '') IS NULL OR q.id = NULLIF($1, '')::bigint)"
         " AND (NULLIF($2, '') IS NULL OR q.state = NULLIF($2, ''))"
         " AND (NULLIF($3, '') IS NULL OR q.finished_at < now() - NULLIF($3, '')::float8 * interval '1 millisecond')"
         " ORDER BY q.id " +
         limit_param + " FOR UPDATE SKIP LOCKED";
}

struct FilterParams {
  std::string id, state, older_ms;
};

FilterParams params(const RecordFilter& f) {
  return {f.id ? std::to_string(*f.id) : "", f.state.value_or(""),
          f.older_than ? std::to_string(f.older_than->count()) : ""};
}

std::vector<int64_t> ids_of(const pqxx::result& r) {
  std::vector<int64_t> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(row[0].as<int64_t>());
  return out;
}

}  // namespace

bool is_state(const std::string& state) {
  return std::find(kStates.begin(), kStates.end(), state) != kStates.end();
}

bool table_exists(pqxx::connection& conn, const QueueTable& table) {
  pqxx::nontransaction tx(conn);
  return tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", table.quoted())[0].as<bool>();
}

StateCounts state_counts(pqxx::connection& conn, const QueueTable& table, int64_t cap) {
  const std::string t = table.quoted();
  // Each group in its index's order, so that the planner reads it through that index and stops at the limit.
  struct Group {
    const char* where;
    const char* order;
  };
  static constexpr std::array<Group, 3> kGroups = {{
      {kWaitingSql, "priority DESC, process_after, id"},
      {"state = 'processing'", "last_heartbeat_at"},
      {"state IN ('completed','failed','canceled')", "finished_at DESC"},
  }};
  std::string sql = "SELECT g, state, count(*) FROM (";
  for (std::size_t i = 0; i < kGroups.size(); ++i) {
    sql += std::string(i ? " UNION ALL " : "") + "(SELECT " + std::to_string(i) + " AS g, state FROM " + t + " WHERE " +
           kGroups[i].where + " ORDER BY " + kGroups[i].order + " LIMIT $1)";
  }
  sql += ") s GROUP BY g, state";
  pqxx::result r = [&] {
    pqxx::nontransaction tx(conn);
    return tx.exec_params(sql, cap + 1);
  }();
  StateCounts out;
  std::array<int64_t, kGroups.size()> group_total{};
  std::array<int, kStates.size()> group_of{};
  for (const auto& row : r) {
    const auto state = row[1].as<std::string>();
    const auto it = std::find(kStates.begin(), kStates.end(), state);
    if (it == kStates.end())
      throw std::runtime_error("table " + table.name() + " has an unknown state \"" + state + "\"");
    const auto i = static_cast<std::size_t>(it - kStates.begin());
    const int g = row[0].as<int>();
    out.count[i] = row[2].as<int64_t>();
    group_of[i] = g;
    group_total[static_cast<std::size_t>(g)] += out.count[i];
  }
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    out.capped[i] = out.count[i] > 0 && group_total[static_cast<std::size_t>(group_of[i])] > cap;
  }
  return out;
}

std::array<Throughput, kThroughputMinutes> finished_per_minute(pqxx::connection& conn, const QueueTable& table) {
  // The finished index's predicate and a range on its column. A record finished by a transaction that
  // started after this statement's now() has a negative age: it counts in the last minute.
  pqxx::result r = [&] {
    pqxx::nontransaction tx(conn);
    return tx.exec_params(
        "SELECT greatest(floor(extract(epoch FROM now() - finished_at) / 60), 0)::int AS m,"
        " count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'failed')"
        " FROM " +
            table.quoted() +
            " WHERE state IN ('completed','failed','canceled') AND finished_at > now() - $1 * interval '1 minute'"
            " GROUP BY m",
        kThroughputMinutes);
  }();
  std::array<Throughput, kThroughputMinutes> out{};
  for (const auto& row : r) {
    const int m = row[0].as<int>();
    if (m < 0 || m >= kThroughputMinutes) continue;  // the edge of the range: now() - finished_at == 15 min
    out[static_cast<std::size_t>(m)] = {row[1].as<int64_t>(), row[2].as<int64_t>()};
  }
  return out;
}

QueueStats queue_stats(pqxx::connection& conn, const QueueTable& table) {
  QueueStats out;
  out.states = state_counts(conn, table);
  {
    const std::string t = table.quoted();
    pqxx::nontransaction tx(conn);
    // Both read through the dequeue index (kDueSql implies its predicate), so only the backlog is read.
    pqxx::row row = tx.exec1("SELECT (SELECT count(*) FROM " + t + " WHERE " + kDueSql + "), (SELECT id FROM " + t +
                             " WHERE " + kDueSql + " ORDER BY process_after, id LIMIT 1)");
    out.due_now = row[0].as<int64_t>();
    if (!row[1].is_null()) out.oldest_due_id = row[1].as<int64_t>();
  }
  out.per_minute = finished_per_minute(conn, table);
  for (auto& [minutes, tp] : out.finished) {
    for (int i = 0; i < minutes && i < kThroughputMinutes; ++i) {
      tp.completed += out.per_minute[static_cast<std::size_t>(i)].completed;
      tp.failed += out.per_minute[static_cast<std::size_t>(i)].failed;
    }
  }
  out.lag_seconds = QueueStore::lag_seconds(conn, table);
  return out;
}

std::vector<RecordSummary> list_records(pqxx::connection& conn, const QueueTable& table, const std::string& state,
                                        int limit) {
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec_params(
      "SELECT x.id, x.state, x.priority, x.num_failures, x.num_resets, " + utc("x.queued_at") + ", " +
          utc("x.process_after") + ", " + utc("x.finished_at") +
          ", x.failure_message, row_to_json(x)::text"
          " FROM (SELECT id, state, priority, num_failures, num_resets, queued_at, process_after, finished_at,"
          " failure_message FROM " +
          table.quoted() + " WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2) x ORDER BY x.id DESC",
      state, limit);
  std::vector<RecordSummary> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    RecordSummary s;
    s.id = row[0].as<int64_t>();
    s.state = row[1].as<std::string>();
    s.priority = row[2].as<int>();
    s.num_failures = row[3].as<int>();
    s.num_resets = row[4].as<int>();
    s.queued_at = row[5].as<std::string>();
    s.process_after = row[6].as<std::string>();
    s.finished_at = row[7].as<std::string>();
    if (!row[8].is_null()) s.failure_message = row[8].as<std::string>();
    s.json = row[9].as<std::string>();
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<RecordDetail> show_record(pqxx::connection& conn, const QueueTable& table, int64_t id) {
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec_params("SELECT row_to_json(q)::text, q.* FROM " + table.quoted() + " q WHERE q.id = $1", id);
  if (r.empty()) return std::nullopt;
  RecordDetail out;
  out.json = r[0][0].as<std::string>();
  for (pqxx::row::size_type i = 1; i < r.columns(); ++i) {
    const pqxx::field f = r[0][i];
    out.columns.emplace_back(r.column_name(i),
                             f.is_null() ? std::nullopt : std::optional<std::string>(f.as<std::string>()));
  }
  return out;
}

std::vector<int64_t> retry_records(pqxx::connection& conn, const QueueTable& table, const RecordFilter& filter) {
  const std::string t = table.quoted();
  const FilterParams p = params(filter);
  std::vector<int64_t> ids;
  {
    pqxx::nontransaction tx(conn);
    // The state is checked again after the lock: only a record still failed or canceled changes.
    ids = ids_of(tx.exec_params("WITH c AS (" + matching_ids(table, "'failed','canceled'", "") + ") UPDATE " + t +
                                    " q SET state = 'queued', process_after = now(), num_failures = 0,"
                                    " num_resets = 0, cancel_requested = false, worker_id = NULL,"
                                    " attempt_token = NULL, started_at = NULL, finished_at = NULL,"
                                    " last_heartbeat_at = NULL"
                                    " FROM c WHERE q.id = c.id AND q.state IN ('failed','canceled') RETURNING q.id",
                                p.id, p.state, p.older_ms));
    // The table's NOTIFY trigger fires on insert only: wake the workers now rather than at their next poll.
    if (!ids.empty()) tx.exec_params("SELECT pg_notify($1, '')", table.channel());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<int64_t> purge_records(pqxx::connection& conn, const QueueTable& table, const RecordFilter& filter,
                                   int batch_size) {
  const std::string t = table.quoted();
  const std::string finished = "'completed','failed','canceled'";
  const FilterParams p = params(filter);
  std::vector<int64_t> ids;
  for (;;) {
    pqxx::nontransaction tx(conn);
    std::string sql = "DELETE FROM " + t + " WHERE id IN (";
    sql += matching_ids(table, finished, "LIMIT $4");
    sql += ") AND state IN (" + finished + ") RETURNING id";
    std::vector<int64_t> batch = ids_of(tx.exec_params(sql, p.id, p.state, p.older_ms, batch_size));
    ids.insert(ids.end(), batch.begin(), batch.end());
    if (static_cast<int>(batch.size()) < batch_size) break;
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace wo::queue
