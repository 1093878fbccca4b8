#include "queue/store.h"

#include "wo/log.h"
#include "wo/text.h"

namespace wo::queue {
namespace {

// Postgres refused the statement because of what it carried (class 22: data exception, e.g. invalid
// text; class 23: integrity constraint, e.g. a CHECK of the table's owner): the same statement would be
// refused again, unlike a lost connection or a timeout.
bool refused_for_its_data(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
}

// The first line of a Postgres error ("ERROR:  ..."): its DETAIL may quote the refused row itself.
std::string first_line(const char* what) {
  std::string_view s(what);
  return std::string(s.substr(0, s.find('\n')));
}

// Runs one of a store's statements as a prepared statement of conn, named after the operation and the
// table: parsed once per connection instead of on every call (parsing and planning were most of the
// claim's time on the enqueue-to-start path). prepare() of a name already defined with the same SQL is
// a lookup; libpqxx sends the statement to the server on its first use on each connection.
//
// Every execution is still planned for its own arguments (plan_cache_mode, set once per connection;
// libpqxx answers get_variable() from what it set and sets it again after a reconnect). Left to itself,
// Postgres switches a prepared statement to one generic plan after five executions, costed for the table
// as it was then: a claim prepared on an empty queue kept a sequential scan in its join when a backlog of
// 100 000 records arrived, 95 ms a claim instead of 0.4 ms (PostgreSQL 15, measured), until the table
// was analysed again.
template <typename... Args>
pqxx::result exec_statement(pqxx::connection& conn, const std::string& name, const std::string& sql,
                            const Args&... args) {
  if (conn.get_variable("plan_cache_mode") != "force_custom_plan") {
    conn.set_variable("plan_cache_mode", "force_custom_plan");
  }
  conn.prepare(name, sql);
  pqxx::nontransaction tx(conn);
  return tx.exec_prepared(name, args...);
}

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::completed:
      return "completed";
    case Outcome::errored:
      return "errored";
    case Outcome::failed:
      return "failed";
    case Outcome::canceled:
      return "canceled";
    case Outcome::released:
      return "released";
  }
  return "errored";
}

std::string to_pg_array(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "}";
}

std::string to_pg_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

QueueStore::QueueStore(QueueTable table, std::string worker_id, const std::string& hostname)
    : table_(std::move(table)), worker_id_(std::move(worker_id)), hostname_(wo::text::clean(hostname, 255)) {
  const std::string t = table_.quoted();
  // SKIP LOCKED on the base table (never through a view: Sourcegraph's double-dequeue bug), with the
  // state re-checked by the UPDATE after the row lock.
  claim_sql_ = "WITH c AS (SELECT id FROM " + t + " WHERE " + kDueSql +
               " AND id <> ALL($4::bigint[])"
               " ORDER BY priority DESC, process_after, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
               " UPDATE " +
               t +
               " q SET state = 'processing', worker_id = $2::uuid, worker_hostname = $3,"
               " attempt_token = gen_random_uuid(), started_at = now(), last_heartbeat_at = now()"
               " FROM c WHERE q.id = c.id AND q.state IN ('queued','errored')"
               " RETURNING q.id, q.payload::text, q.priority, q.num_failures, q.num_resets,"
               " extract(epoch FROM now() - greatest(q.queued_at, q.process_after))::float8, q.attempt_token::text";
  // Finishing and heartbeating never wait on a row lock held by someone else (a producer's
  // request_cancel inside a longer transaction, a SELECT ... FOR UPDATE left open): the dispatcher that
  // waited would stop heartbeating and completing every other record for as long as the lock is held.
  // So both lock their rows FOR NO KEY UPDATE SKIP LOCKED (the lock an UPDATE takes; it does not conflict
  // with a foreign key's FOR KEY SHARE) and report the skipped rows that are still ours, read without a
  // lock from the statement's snapshot, as locked: the caller keeps them and tries again shortly.
  // Skipping is better than a lock_timeout here: a timeout would fail the whole statement, every other
  // record's outcome or heartbeat with it, and would still wait its full length each time.
  // Both match the attempt, not only the record: (id, attempt_token). worker_id is matched too, so that
  // a claim by a worker of an older version, which sets no token, is never taken for this one's.
  finish_sql_ =
      "WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $4::text[], $5::bigint[], $7::uuid[])"
      "   AS v(id, outcome, message, delay_ms, attempt_token)),"
      " mine AS (SELECT id FROM " +
      t +
      " WHERE (id, attempt_token) IN (SELECT id, attempt_token FROM v) AND worker_id = $6::uuid"
      "   AND state = 'processing' FOR NO KEY UPDATE SKIP LOCKED),"
      " done AS (UPDATE " +
      t +
      " q SET"
      " state = CASE"
      "   WHEN v.outcome = 'completed' THEN 'completed'"
      "   WHEN q.cancel_requested THEN 'canceled'"
      "   WHEN v.outcome = 'released' THEN 'queued'"
      "   WHEN v.outcome = 'canceled' THEN 'canceled'"
      "   WHEN v.outcome = 'failed' OR q.num_failures + 1 >= $3 THEN 'failed'"
      "   ELSE 'errored' END,"
      " num_failures = q.num_failures + CASE WHEN v.outcome IN ('errored','failed') AND NOT q.cancel_requested"
      "   THEN 1 ELSE 0 END,"
      " failure_message = CASE WHEN v.outcome IN ('completed','released') THEN q.failure_message ELSE v.message END,"
      " finished_at = CASE WHEN v.outcome = 'released' AND NOT q.cancel_requested THEN NULL ELSE now() END,"
      " started_at = CASE WHEN v.outcome = 'released' AND NOT q.cancel_requested THEN NULL ELSE q.started_at END,"
      " worker_id = CASE WHEN v.outcome = 'released' AND NOT q.cancel_requested THEN NULL ELSE q.worker_id END,"
      " process_after = CASE WHEN v.outcome = 'errored' THEN now() + v.delay_ms * interval '1 millisecond'"
      "   ELSE q.process_after END"
      " FROM v, mine"
      " WHERE q.id = v.id AND q.id = mine.id AND q.attempt_token = v.attempt_token AND q.worker_id = $6::uuid"
      "   AND q.state = 'processing'"
      " RETURNING q.id, q.state)"
      " SELECT id, state FROM done"
      " UNION ALL SELECT id, NULL FROM " +
      t +
      " WHERE (id, attempt_token) IN (SELECT id, attempt_token FROM v) AND worker_id = $6::uuid"
      "   AND state = 'processing' AND id NOT IN (SELECT id FROM done)";
  heartbeat_sql_ =
      "WITH h AS (SELECT * FROM unnest($1::bigint[], $3::uuid[]) AS h(id, attempt_token)),"
      " mine AS (SELECT id FROM " +
      t +
      " WHERE (id, attempt_token) IN (SELECT id, attempt_token FROM h) AND worker_id = $2::uuid"
      "   AND state = 'processing' FOR NO KEY UPDATE SKIP LOCKED),"
      " beat AS (UPDATE " +
      t +
      " q SET last_heartbeat_at = now() FROM mine"
      " WHERE q.id = mine.id AND q.worker_id = $2::uuid AND q.state = 'processing'"
      " RETURNING q.id, q.cancel_requested)"
      " SELECT id, cancel_requested, false FROM beat"
      " UNION ALL SELECT id, cancel_requested, true FROM " +
      t +
      " WHERE (id, attempt_token) IN (SELECT id, attempt_token FROM h) AND worker_id = $2::uuid"
      "   AND state = 'processing' AND id NOT IN (SELECT id FROM beat)";
}

std::vector<Record> QueueStore::claim(pqxx::connection& conn, int limit, const std::vector<int64_t>& held) const {
  pqxx::result r =
      exec_statement(conn, "wo_claim_" + table_.name(), claim_sql_, limit, worker_id_, hostname_, to_pg_array(held));
  std::vector<Record> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    Record rec;
    rec.id = row[0].as<int64_t>();
    rec.payload = row[1].as<std::string>();
    rec.priority = row[2].as<int>();
    rec.num_failures = row[3].as<int>();
    rec.num_resets = row[4].as<int>();
    rec.wait_seconds = row[5].as<double>(0.0);
    rec.attempt_token = row[6].as<std::string>();
    out.push_back(std::move(rec));
  }
  return out;
}

std::vector<FinishResult> QueueStore::finish(pqxx::connection& conn, const std::vector<Finish>& finishes,
                                             int max_attempts) const {
  std::vector<FinishResult> out;
  if (!finishes.empty()) finish_isolating(conn, finishes, max_attempts, out);
  return out;
}

void QueueStore::finish_isolating(pqxx::connection& conn, std::span<const Finish> batch, int max_attempts,
                                  std::vector<FinishResult>& out) const {
  try {
    finish_batch(conn, batch, max_attempts, out);
    return;
  } catch (const pqxx::sql_error& e) {
    if (!refused_for_its_data(e)) throw;
    if (batch.size() > 1) {
      // One refused record must not hold back the others: halve until it is alone.
      std::size_t half = batch.size() / 2;
      finish_isolating(conn, batch.first(half), max_attempts, out);
      finish_isolating(conn, batch.subspan(half), max_attempts, out);
      return;
    }
    Finish fallback = batch.front();
    fallback.message = "the database refused this record's outcome message: " + first_line(e.what());
    try {
      finish_batch(conn, std::span(&fallback, 1), max_attempts, out);
      wo::log::warn("outcome message refused by the database; wrote a replacement",
                    {{"queue", table_.name()}, {"id", fallback.id}, {"error", first_line(e.what())}});
    } catch (const pqxx::sql_error& again) {
      if (!refused_for_its_data(again)) throw;
      // Nothing this worker can write is accepted (e.g. a trigger refusing the new state): stop
      // trying, so that the others flow; the record stops being heartbeated and the resetter takes it.
      wo::log::error("the database refused this record's outcome; leaving it to the resetter",
                     {{"queue", table_.name()},
                      {"id", fallback.id},
                      {"outcome", std::string(to_string(fallback.outcome))},
                      {"error", first_line(again.what())}});
    }
  }
}

void QueueStore::finish_batch(pqxx::connection& conn, std::span<const Finish> batch, int max_attempts,
                              std::vector<FinishResult>& out) const {
  std::vector<int64_t> ids, delays;
  std::vector<std::string> outcomes, messages, tokens;
  for (const auto& f : batch) {
    ids.push_back(f.id);
    tokens.push_back(f.attempt_token);
    outcomes.emplace_back(to_string(f.outcome));
    // Postgres text is valid UTF-8 without NUL; one bad byte would refuse the whole batch.
    messages.push_back(wo::text::clean(f.message, kMaxFailureMessageBytes));
    delays.push_back(f.delay.count());
  }
  pqxx::result r =
      exec_statement(conn, "wo_finish_" + table_.name(), finish_sql_, to_pg_array(ids), to_pg_array(outcomes),
                     max_attempts, to_pg_array(messages), to_pg_array(delays), worker_id_, to_pg_array(tokens));
  for (const auto& row : r) {
    if (row[1].is_null()) {
      out.push_back({row[0].as<int64_t>(), "", true});
    } else {
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), false});
    }
  }
}

std::vector<Heartbeat> QueueStore::heartbeat(pqxx::connection& conn, const std::vector<Attempt>& attempts) const {
  std::vector<Heartbeat> out;
  if (attempts.empty()) return out;
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
  ids.reserve(attempts.size());
  tokens.reserve(attempts.size());
  for (const auto& a : attempts) {
    ids.push_back(a.id);
    tokens.push_back(a.attempt_token);
  }
  pqxx::result r = exec_statement(conn, "wo_heartbeat_" + table_.name(), heartbeat_sql_, to_pg_array(ids), worker_id_,
                                  to_pg_array(tokens));
  for (const auto& row : r) out.push_back({row[0].as<int64_t>(), row[1].as<bool>(), row[2].as<bool>()});
  return out;
}

ResetResult QueueStore::reset_stalled(pqxx::connection& conn, const QueueTable& table,
                                      std::chrono::milliseconds stalled_after, int max_resets, int limit) {
  const std::string t = table.quoted();
  pqxx::nontransaction tx(conn);
  // s: stalled records. w: waiting records with a cancellation request, which no claim takes (the request
  // was set without the state, e.g. by plain SQL or by an older resetter): only this finishes them.
  // A requested cancellation is honoured rather than requeued: the stalled worker can no longer see it,
  // and a requeued record with cancel_requested would never be claimed, reset or deleted.
  pqxx::result r = tx.exec_params(
      "WITH s AS (SELECT id FROM " + t +
          " WHERE state = 'processing' AND last_heartbeat_at < now() - $1::float8 * interval '1 millisecond'"
          " ORDER BY last_heartbeat_at LIMIT $3 FOR UPDATE SKIP LOCKED),"
          " w AS (SELECT id FROM " +
          t +
          " WHERE state IN ('queued','errored') AND cancel_requested LIMIT $3 FOR UPDATE SKIP LOCKED)"
          " UPDATE " +
          t +
          " q SET"
          " state = CASE WHEN q.cancel_requested THEN 'canceled' WHEN q.num_resets + 1 > $2 THEN 'failed'"
          "   ELSE 'queued' END,"
          " num_resets = q.num_resets + CASE WHEN q.state = 'processing' THEN 1 ELSE 0 END,"
          " finished_at = CASE WHEN q.cancel_requested OR q.num_resets + 1 > $2 THEN now() END,"
          " started_at = CASE WHEN q.cancel_requested OR q.num_resets + 1 > $2 THEN q.started_at END,"
          " failure_message = CASE"
          "   WHEN q.cancel_requested AND q.state = 'processing' THEN"
          "   'canceled on request; the worker processing this record stopped heartbeating'"
          "   WHEN q.cancel_requested THEN q.failure_message"
          "   WHEN q.num_resets + 1 > $2 THEN"
          "   'the worker processing this record stopped heartbeating ' || (q.num_resets + 1) ||"
          "   ' times (maximum resets: ' || $2 || ')' ELSE q.failure_message END,"
          " worker_id = NULL"
          " FROM (SELECT id FROM s UNION ALL SELECT id FROM w) x"
          " WHERE q.id = x.id"
          " AND (q.state = 'processing' OR (q.state IN ('queued','errored') AND q.cancel_requested))"
          " RETURNING q.state",
      stalled_after.count(), max_resets, limit);
  ResetResult out;
  for (const auto& row : r) {
    const std::string state = row[0].as<std::string>();
    if (state == kFailed) {
      ++out.failed;
    } else if (state == kCanceled) {
      ++out.canceled;
    } else {
      ++out.requeued;
    }
  }
  return out;
}

int64_t QueueStore::delete_finished(pqxx::connection& conn, const QueueTable& table,
                                    std::chrono::milliseconds retention, int limit) {
  const std::string t = table.quoted();
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec_params("DELETE FROM " + t + " WHERE id IN (SELECT id FROM " + t +
                                      " WHERE state IN ('completed','failed','canceled')"
                                      " AND finished_at < now() - $1::float8 * interval '1 millisecond'"
                                      " ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                                  retention.count(), limit);
  return static_cast<int64_t>(r.affected_rows());
}

double QueueStore::lag_seconds(pqxx::connection& conn, const QueueTable& table) {
  const std::string t = table.quoted();
  const std::string waiting = std::string(" ") + kWaitingSql + " ";
  // The dequeue index is ordered (priority DESC, process_after, id): the priorities present are found by
  // skipping from one to the next, and within one priority its earliest due record is the first entry.
  pqxx::nontransaction tx(conn);
  return tx
      .exec1(
          "WITH RECURSIVE p(priority) AS ("
          " (SELECT priority FROM " +
          t + " WHERE" + waiting +
          "ORDER BY priority DESC LIMIT 1)"
          " UNION ALL"
          " SELECT (SELECT priority FROM " +
          t + " WHERE" + waiting +
          "AND priority < p.priority"
          "         ORDER BY priority DESC LIMIT 1) FROM p WHERE p.priority IS NOT NULL)"
          " SELECT coalesce(extract(epoch FROM now() - min(d.process_after)), 0)::float8 FROM p"
          " CROSS JOIN LATERAL (SELECT process_after FROM " +
          t + " WHERE " + kDueSql +
          " AND priority = p.priority"
          "   ORDER BY priority DESC, process_after LIMIT 1) d")[0]
      .as<double>();
}

}  // namespace wo::queue
