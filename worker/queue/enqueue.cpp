#include "queue/enqueue.h"

#include "queue/store.h"
#include "queue/table.h"

namespace wo::queue {

int64_t enqueue(pqxx::transaction_base& tx, std::string_view table, std::string_view payload,
                const EnqueueOptions& options) {
  QueueTable t{std::string(table)};
  return tx
      .exec_params1("INSERT INTO " + t.quoted() +
                        " (payload, priority, process_after) VALUES ($1::jsonb, $2,"
                        " now() + $3::float8 * interval '1 millisecond') RETURNING id",
                    std::string(payload), options.priority, options.delay.count())[0]
      .as<int64_t>();
}

std::vector<int64_t> enqueue_many(pqxx::transaction_base& tx, std::string_view table,
                                  const std::vector<std::string>& payloads, const EnqueueOptions& options) {
  std::vector<int64_t> ids;
  if (payloads.empty()) return ids;
  QueueTable t{std::string(table)};
  pqxx::result r = tx.exec_params("INSERT INTO " + t.quoted() +
                                      " (payload, priority, process_after)"
                                      " SELECT p::jsonb, $2, now() + $3::float8 * interval '1 millisecond'"
                                      " FROM unnest($1::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n RETURNING id",
                                  to_pg_array(payloads), options.priority, options.delay.count());
  for (const auto& row : r) ids.push_back(row[0].as<int64_t>());
  return ids;
}

bool request_cancel(pqxx::transaction_base& tx, std::string_view table, int64_t id) {
  QueueTable t{std::string(table)};
  pqxx::result r =
      tx.exec_params("UPDATE " + t.quoted() +
                         " SET cancel_requested = true,"
                         " state = CASE WHEN state IN ('queued','errored') THEN 'canceled' ELSE state END,"
                         " finished_at = CASE WHEN state IN ('queued','errored') THEN now() ELSE finished_at END"
                         " WHERE id = $1 AND state IN ('queued','errored','processing') RETURNING id",
                     id);
  return !r.empty();
}

}  // namespace wo::queue
