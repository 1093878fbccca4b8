#include "core/database.h"

#include <cctype>
#include <utility>
#include <vector>

#include "core/backoff.h"
#include "wo/cli.h"

namespace wo::worker {
namespace {

// libpq keyword/value syntax: single-quote the value, escaping \ and '.
std::string quote_value(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string percent_encode(const std::string& v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool is_uri(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

}  // namespace

void declare_database_flags(wo::cli::FlagSet& flags) {
  flags.add_string("database-url", "WORKER_DATABASE_URL", "",
                   "Postgres connection URI or keyword/value string; empty: libpq's PG* variables");
  flags.add_duration("statement-timeout", "WORKER_STATEMENT_TIMEOUT", std::chrono::seconds(30),
                     "statement_timeout of every connection (0: none)");
}

DatabaseOptions database_options(const wo::cli::FlagSet& flags, std::string application_name) {
  DatabaseOptions out;
  out.url = flags.get_string("database-url");
  out.application_name = std::move(application_name);
  out.statement_timeout = flags.get_duration("statement-timeout");
  return out;
}

std::string connection_string(const DatabaseOptions& options) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"application_name", options.application_name},
      {"connect_timeout", std::to_string(std::max<long long>(1, options.connect_timeout.count()))},
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
  };
  std::string server_options;
  if (options.statement_timeout.count() > 0) {
    server_options = "-c statement_timeout=" + std::to_string(options.statement_timeout.count());
  }
  if (options.lock_timeout.count() > 0) {
    server_options += (server_options.empty() ? "" : " ") + std::string("-c lock_timeout=") +
                      std::to_string(options.lock_timeout.count());
  }
  if (!server_options.empty()) params.emplace_back("options", server_options);
  std::string out = options.url;
  if (is_uri(out)) {
    char sep = out.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [k, v] : params) {
      out += sep + k + "=" + percent_encode(v);
      sep = '&';
    }
  } else {
    for (const auto& [k, v] : params) out += (out.empty() ? "" : " ") + k + "=" + quote_value(v);
  }
  return out;
}

std::unique_ptr<pqxx::connection> connect(const DatabaseOptions& options) {
  return std::make_unique<pqxx::connection>(connection_string(options));
}

std::chrono::milliseconds ReconnectBackoff::next() {
  ++failures_;
  return retry_delay(failures_, std::chrono::milliseconds(100), max_, 0.2);
}

bool is_connection_error(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
}

}  // namespace wo::worker
