#include "queue/table.h"

#include "core/config.h"

namespace wo::queue {

QueueTable::QueueTable(const std::string& name) : name_(wo::worker::validate_identifier("table", name)) {}

}  // namespace wo::queue
