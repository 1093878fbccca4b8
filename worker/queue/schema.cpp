#include "queue/schema.h"

#include <vector>

#include "core/periodic.h"
#include "queue/store.h"

namespace wo::queue {

std::string schema_sql(const QueueTable& table) {
  const std::string t = table.quoted();
  const std::string& n = table.name();
  return
      // The standard columns. CREATE then ADD COLUMN IF NOT EXISTS: a pre-existing table gets what it lacks.
      "CREATE TABLE IF NOT EXISTS " + t +
      " (id bigserial PRIMARY KEY);\n"
      "ALTER TABLE " +
      t +
      "\n"
      "  ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'queued',\n"
      "  ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0,\n"
      "  ADD COLUMN IF NOT EXISTS payload jsonb NOT NULL DEFAULT '{}'::jsonb,\n"
      "  ADD COLUMN IF NOT EXISTS queued_at timestamptz NOT NULL DEFAULT now(),\n"
      "  ADD COLUMN IF NOT EXISTS process_after timestamptz NOT NULL DEFAULT now(),\n"
      "  ADD COLUMN IF NOT EXISTS started_at timestamptz,\n"
      "  ADD COLUMN IF NOT EXISTS finished_at timestamptz,\n"
      "  ADD COLUMN IF NOT EXISTS last_heartbeat_at timestamptz,\n"
      "  ADD COLUMN IF NOT EXISTS num_failures integer NOT NULL DEFAULT 0,\n"
      "  ADD COLUMN IF NOT EXISTS num_resets integer NOT NULL DEFAULT 0,\n"
      "  ADD COLUMN IF NOT EXISTS failure_message text,\n"
      "  ADD COLUMN IF NOT EXISTS worker_id uuid,\n"
      "  ADD COLUMN IF NOT EXISTS worker_hostname text,\n"
      "  ADD COLUMN IF NOT EXISTS attempt_token uuid,\n"
      "  ADD COLUMN IF NOT EXISTS cancel_requested boolean NOT NULL DEFAULT false;\n"
      "DO $$ BEGIN\n"
      "  ALTER TABLE " +
      t + " ADD CONSTRAINT " + n +
      "_state_check CHECK (state IN "
      "('queued','processing','completed','errored','failed','canceled'));\n"
      "EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"
      // The dequeue: waiting records in claim order. Partial, so it holds only the (small) backlog.
      "CREATE INDEX IF NOT EXISTS " +
      n + "_dequeue_idx ON " + t +
      " (priority DESC, process_after, id) WHERE state IN ('queued','errored');\n"
      // The resetter: records in flight by heartbeat age.
      "CREATE INDEX IF NOT EXISTS " +
      n + "_processing_idx ON " + t +
      " (last_heartbeat_at) WHERE state = 'processing';\n"
      // The resetter's other half: waiting records whose cancellation was requested. Almost always empty,
      // so finding them costs nothing, where a filter over the dequeue index would read the whole backlog on
      // every resetter pass.
      "CREATE INDEX IF NOT EXISTS " +
      n + "_cancel_requested_idx ON " + t +
      " (id) WHERE state IN ('queued','errored') AND cancel_requested;\n"
      // The janitor: finished records by age.
      "CREATE INDEX IF NOT EXISTS " +
      n + "_finished_idx ON " + t +
      " (finished_at) WHERE state IN ('completed','failed','canceled');\n"
      // Wake-ups: one NOTIFY per inserting statement (Postgres also folds duplicates per transaction), so
      // plain SQL inserts wake workers too. It is a hint: workers poll as well.
      "CREATE OR REPLACE FUNCTION " +
      n +
      "_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN\n"
      "  PERFORM pg_notify('" +
      table.channel() +
      "', ''); RETURN NULL; END $$;\n"
      "DROP TRIGGER IF EXISTS " +
      n + "_notify ON " + t +
      ";\n"
      "CREATE TRIGGER " +
      n + "_notify AFTER INSERT ON " + t + " FOR EACH STATEMENT EXECUTE FUNCTION " + n + "_notify();\n";
}

void migrate(pqxx::connection& conn, const QueueTable& table) {
  auto [k1, k2] = wo::worker::advisory_lock_keys("migrate:" + table.name());
  pqxx::work tx(conn);
  tx.exec_params("SELECT pg_advisory_xact_lock($1, $2)", k1, k2);
  // Skip the DDL when the table is already current: DROP/CREATE TRIGGER takes a lock that would queue
  // behind every enqueueing transaction at each worker start.
  pqxx::result current = tx.exec_params(
      "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2 AND NOT tgisinternal",
      table.quoted(), table.name() + "_notify");
  // What schema_sql() creates besides the trigger; a name missing here would let a table that lacks it
  // pass for current.
  static const std::vector<std::string> kColumns = {
      "state",           "priority",    "payload",           "queued_at",     "process_after",
      "started_at",      "finished_at", "last_heartbeat_at", "num_failures",  "num_resets",
      "failure_message", "worker_id",   "worker_hostname",   "attempt_token", "cancel_requested"};
  static const std::vector<std::string> kIndexSuffixes = {"_dequeue_idx", "_processing_idx", "_cancel_requested_idx",
                                                          "_finished_idx"};
  std::vector<std::string> indexes;
  indexes.reserve(kIndexSuffixes.size());
  for (const auto& suffix : kIndexSuffixes) indexes.push_back(table.name() + suffix);
  pqxx::result columns = tx.exec_params(
      "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 "
      "AND column_name = ANY($2::text[])",
      table.name(), to_pg_array(kColumns));
  pqxx::result present = tx.exec_params(
      "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname = "
      "ANY($2::text[])",
      table.name(), to_pg_array(indexes));
  if (current[0][0].as<int>() == 1 && columns[0][0].as<std::size_t>() == kColumns.size() &&
      present[0][0].as<std::size_t>() == indexes.size()) {
    tx.commit();
    return;
  }
  tx.exec(schema_sql(table));
  tx.commit();
}

}  // namespace wo::queue
