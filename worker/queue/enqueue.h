// Producing records. enqueue() takes the caller's transaction, so a record is enqueued if and only if the
// caller's own changes commit (the transactional outbox pattern). Workers wake up through the table's
// NOTIFY trigger when the transaction commits, and poll as a fallback.
//
// Plain SQL works the same way (see docs/worker.md):
//   INSERT INTO thumbnails (payload) VALUES ('{"image": 42}');
//   INSERT INTO thumbnails (payload, priority, process_after) VALUES ('{}', 10, now() + interval '5 min');
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wo::queue {

struct EnqueueOptions {
  int priority = 0;                    // higher runs first
  std::chrono::milliseconds delay{0};  // not before now() + delay
};

// Inserts one record (payload: JSON text) into table and returns its id. Throws pqxx::sql_error on a bad
// payload or a missing table (run the worker once, or queue::migrate, to create it).
int64_t enqueue(pqxx::transaction_base& tx, std::string_view table, std::string_view payload,
                const EnqueueOptions& options = {});
// Inserts many records in one statement; returns their ids in order.
std::vector<int64_t> enqueue_many(pqxx::transaction_base& tx, std::string_view table,
                                  const std::vector<std::string>& payloads, const EnqueueOptions& options = {});
// Requests cancellation: a waiting record becomes canceled at once; a processing one has its handler
// cancelled at the worker's next heartbeat. Returns false when the record is unknown or already finished.
bool request_cancel(pqxx::transaction_base& tx, std::string_view table, int64_t id);

}  // namespace wo::queue
