#include "wo/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <variant>

namespace wo::metrics {
namespace {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest text that reads back as the same double: 0.1 stays "0.1", 3 stays "3".
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

void append_escaped_label(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

// {a="x",b="y"} with an optional extra pair (the histogram's le).
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra_name = {}, const std::string& extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out.push_back(',');
    out += names[i];
    out += "=\"";
    append_escaped_label(out, values[i]);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

void append_help(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " ";
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out += "\n# TYPE " + name + " " + type + "\n";
}

void check_name(const std::string& name) {
  auto ok_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
  };
  if (name.empty()) throw std::invalid_argument("metric or label name must not be empty");
  for (size_t i = 0; i < name.size(); ++i) {
    if (!ok_char(name[i], i == 0)) throw std::invalid_argument("invalid metric or label name \"" + name + "\"");
  }
}

}  // namespace

void Counter::inc(double amount) {
  if (amount < 0) throw std::invalid_argument("a counter cannot decrease");
  value_.fetch_add(amount, std::memory_order_relaxed);
}

void Gauge::add(double amount) {
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // The +Inf bucket is the count by definition; read both from the buckets so a scrape is consistent.
  s.count = running;
  return s;
}

std::vector<double> default_seconds_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::function<std::unique_ptr<Metric>()> make)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), make_(std::move(make)) {
  check_name(name_);
  for (const auto& l : label_names_) check_name(l);
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(label_values.size()));
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  if (it == children_.end()) it = children_.emplace(label_values, make_()).first;
  return *it->second;
}

template <typename Metric>
void Family<Metric>::for_each(const std::function<void(const std::vector<std::string>&, const Metric&)>& f) const {
  std::lock_guard lock(mu_);
  for (const auto& [labels, metric] : children_) f(labels, *metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>, std::unique_ptr<Family<Histogram>>>
      family;
};

Registry::Registry() = default;
Registry::~Registry() = default;

namespace {
template <typename Metric, typename Map>
Family<Metric>& get_or_add(std::mutex& mu, Map& families, const std::string& name, const std::string& help,
                           std::vector<std::string> labels, std::function<std::unique_ptr<Metric>()> make) {
  std::lock_guard lock(mu);
  auto it = families.find(name);
  if (it != families.end()) {
    auto* existing = std::get_if<std::unique_ptr<Family<Metric>>>(&it->second->family);
    if (existing == nullptr || (*existing)->label_names() != labels) {
      throw std::invalid_argument("metric " + name + " is already registered with another type or labels");
    }
    return **existing;
  }
  auto family = std::make_unique<Family<Metric>>(name, help, std::move(labels), std::move(make));
  Family<Metric>& ref = *family;
  auto entry = std::make_unique<typename Map::mapped_type::element_type>();
  entry->family = std::move(family);
  families.emplace(name, std::move(entry));
  return ref;
}
}  // namespace

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return get_or_add<Counter>(mu_, families_, name, help, std::move(labels), [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  return get_or_add<Gauge>(mu_, families_, name, help, std::move(labels), [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, std::vector<double> buckets) {
  return get_or_add<Histogram>(mu_, families_, name, help, std::move(labels),
                               [buckets = std::move(buckets)] { return std::make_unique<Histogram>(buckets); });
}

void Registry::on_collect(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(callback));
}

std::string Registry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();

  std::string out;
  std::lock_guard lock(mu_);
  // Not a structured binding: the lambdas below capture name, which clang before 16 rejects for bindings.
  for (const auto& family : families_) {
    const std::string& name = family.first;
    const auto& entry = family.second;
    if (const auto* counter = std::get_if<std::unique_ptr<Family<Counter>>>(&entry->family)) {
      const auto& f = **counter;
      append_help(out, name, f.help(), "counter");
      f.for_each([&](const std::vector<std::string>& values, const Counter& c) {
        out += name + label_set(f.label_names(), values) + " " + format_value(c.value()) + "\n";
      });
    } else if (const auto* gauge = std::get_if<std::unique_ptr<Family<Gauge>>>(&entry->family)) {
      const auto& f = **gauge;
      append_help(out, name, f.help(), "gauge");
      f.for_each([&](const std::vector<std::string>& values, const Gauge& g) {
        out += name + label_set(f.label_names(), values) + " " + format_value(g.value()) + "\n";
      });
    } else if (const auto* hist = std::get_if<std::unique_ptr<Family<Histogram>>>(&entry->family)) {
      const auto& f = **hist;
      append_help(out, name, f.help(), "histogram");
      f.for_each([&](const std::vector<std::string>& values, const Histogram& h) {
        const Histogram::Snapshot s = h.snapshot();
        for (size_t i = 0; i < s.upper_bounds.size(); ++i) {
          out += name + "_bucket" + label_set(f.label_names(), values, "le", format_value(s.upper_bounds[i])) + " " +
                 std::to_string(s.cumulative_counts[i]) + "\n";
        }
        out +=
            name + "_bucket" + label_set(f.label_names(), values, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
        out += name + "_sum" + label_set(f.label_names(), values) + " " + format_value(s.sum) + "\n";
        out += name + "_count" + label_set(f.label_names(), values) + " " + std::to_string(s.count) + "\n";
      });
    }
  }
  return out;
}

}  // namespace wo::metrics
