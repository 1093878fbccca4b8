// Creating and migrating a queue table. migrate() is idempotent and runs under a transaction-level
// advisory lock, so many replicas starting at once serialise on it instead of racing on DDL. It adds
// any missing standard column to an existing table (a team's table keeps its own extra columns).
#pragma once

#include <pqxx/pqxx>

#include <string>

#include "queue/table.h"

namespace wo::queue {

void migrate(pqxx::connection& conn, const QueueTable& table);

// The DDL migrate() runs, for docs and tests.
std::string schema_sql(const QueueTable& table);

}  // namespace wo::queue
