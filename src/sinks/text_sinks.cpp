// The text outputs of a hunt: table, JSON lines, CSV, Navigator layer, and the
// terminal summary.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "event/time.hpp"
#include "event/value.hpp"
#include "sinks/detection_writer.hpp"
#include "sinks/sinks.hpp"

namespace vigil {
namespace {

// Writes through one buffer; remembers the first failure.
class BufferedSink : public DetectionSink {
 public:
  BufferedSink(std::FILE* out, const DetectionContext& ctx) : out_(out), ctx_(ctx) {}
  std::string error() const override { return error_; }

 protected:
  // 64 KiB: a buffer that grew to megabytes took ~800 fresh pages from the
  // kernel on an all-rules hunt of the attack samples (~3 µs each on the
  // development VM), for no fewer system calls worth having.
  void flush_if_large() {
    if (buf_.size() > (1u << 16)) flush();
  }
  bool flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size() && error_.empty())
      error_ = std::strerror(errno);
    buf_.clear();
    if (std::fflush(out_) != 0 && error_.empty()) error_ = std::strerror(errno);
    return error_.empty();
  }

  std::FILE* out_;
  const DetectionContext& ctx_;
  std::string buf_;
  std::string error_;
};

class TableSink : public DetectionSink {
 public:
  TableSink(std::FILE* out, const DetectionContext& ctx, TableOptions o) : out_(out), ctx_(ctx), o_(o) {}
  void write(const Detection& d) override { write_timeline_entry(out_, d, ctx_, o_.color, o_.explain); }
  bool finish(const HuntSummary&) override {
    if (std::fflush(out_) != 0 || std::ferror(out_)) {
      error_ = std::strerror(errno);
      return false;
    }
    return true;
  }
  std::string error() const override { return error_; }

 private:
  std::FILE* out_;
  const DetectionContext& ctx_;
  TableOptions o_;
  std::string error_;
};

class JsonlSink : public BufferedSink {
 public:
  using BufferedSink::BufferedSink;
  void write(const Detection& d) override {
    append_detection_json(buf_, d, ctx_);
    buf_ += '\n';
    flush_if_large();
  }
  bool finish(const HuntSummary& s) override {
    for (const Story& story : s.stories) {
      append_story_json(buf_, story, ctx_);
      buf_ += '\n';
      flush_if_large();
    }
    return flush();
  }
};

class CsvSink : public BufferedSink {
 public:
  using BufferedSink::BufferedSink;
  void begin(const HuntSummary&) override {
    buf_ +=
        "datetime,timestamp_desc,message,timestamp,rule_title,rule_id,level,status,tags,computer,channel,"
        "event_id,record_id,source,story,count,last_datetime,matched,event\r\n";
  }
  void write(const Detection& d) override {
    const sigma::Rule& r = ctx_.rules[d.rule];
    std::string t = d.time ? format_time(d.time) : std::string();
    append_csv_field(buf_, t);
    buf_ += ",Event Time,";
    std::string message = fmt::format("[{}] {} on {}", sigma::level_name(r.level), r.title, d.computer);
    const std::string fields = summary_fields(d);
    if (!fields.empty()) message += " | " + fields;
    append_csv_field(buf_, message);
    buf_ += ',';
    // Timesketch's `timestamp`: microseconds since 1970.
    if (d.time) buf_ += std::to_string((int64_t(d.time) - kFiletimeUnixEpoch) / 10);
    buf_ += ',';
    append_csv_field(buf_, r.title);
    buf_ += ',';
    append_csv_field(buf_, r.id);
    buf_ += ',';
    buf_ += sigma::level_name(r.level);
    buf_ += ',';
    append_csv_field(buf_, r.status);
    buf_ += ',';
    std::string tags;
    for (const auto& tag : r.tags) tags += (tags.empty() ? "" : ";") + tag;
    append_csv_field(buf_, tags);
    buf_ += ',';
    append_csv_field(buf_, d.computer);
    buf_ += ',';
    append_csv_field(buf_, d.channel);
    buf_ += ',';
    if (d.event_id >= 0) buf_ += std::to_string(d.event_id);
    buf_ += fmt::format(",{},", d.record_id);
    append_csv_field(buf_, d.source < ctx_.sources->size() ? std::string_view((*ctx_.sources)[d.source]) : std::string_view());
    buf_ += ',';
    if (d.story) buf_ += std::to_string(d.story);
    buf_ += fmt::format(",{},", d.count);
    if (d.count > 1 && d.last_time) buf_ += format_time(d.last_time);
    buf_ += ',';
    std::string why;
    for (const auto& line : explain_lines(d)) why += (why.empty() ? "" : "; ") + line;
    append_csv_field(buf_, why);
    buf_ += ',';
    append_csv_field(buf_, d.event_json);
    buf_ += "\r\n";
    flush_if_large();
  }
  bool finish(const HuntSummary&) override { return flush(); }
};

class NavigatorSink : public BufferedSink {
 public:
  using BufferedSink::BufferedSink;
  void write(const Detection& d) override {
    if (d.rule >= techniques_of_.size()) {
      techniques_of_.resize(ctx_.rules.size());
      done_.resize(ctx_.rules.size(), 0);
    }
    if (!done_[d.rule]) {
      techniques_of_[d.rule] = ctx_.attack->classify(ctx_.rules[d.rule].tags).techniques;
      done_[d.rule] = 1;
    }
    for (const auto& t : techniques_of_[d.rule]) {
      auto& entry = hits_[t];
      entry.total += d.count;
      entry.by_rule[d.rule] += d.count;
    }
  }
  bool finish(const HuntSummary& s) override {
    uint64_t max = 0;
    for (const auto& [id, e] : hits_) max = std::max(max, e.total);
    buf_ += "{\"name\":\"Vigil hunt\",\"versions\":{\"attack\":\"19\",\"navigator\":\"5.1.0\",\"layer\":\"4.5\"},";
    buf_ += "\"domain\":\"enterprise-attack\",\"description\":";
    std::string desc = fmt::format("{} detections from {} events", s.detections, s.events);
    if (s.first) desc += fmt::format(", {} to {}", format_time(s.first), format_time(s.last));
    if (!s.run.command.empty()) desc += "; " + s.run.command;
    append_json_string(buf_, desc);
    buf_ += ",\"sorting\":3,\"hideDisabled\":false,\"selectTechniquesAcrossTactics\":true,";
    buf_ += "\"layout\":{\"layout\":\"side\",\"showID\":true,\"showName\":true},\"techniques\":[";
    bool first = true;
    for (const auto& [id, e] : hits_) {
      if (!first) buf_ += ',';
      first = false;
      buf_ += "{\"techniqueID\":";
      append_json_string(buf_, id);
      buf_ += fmt::format(",\"score\":{},\"enabled\":true,\"showSubtechniques\":true,\"comment\":", e.total);
      std::vector<std::pair<uint32_t, uint64_t>> rules(e.by_rule.begin(), e.by_rule.end());
      std::stable_sort(rules.begin(), rules.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      std::string comment = fmt::format("{} detection{} by {} rule{}", e.total, e.total == 1 ? "" : "s",
                                        rules.size(), rules.size() == 1 ? "" : "s");
      append_json_string(buf_, comment);
      buf_ += ",\"metadata\":[";
      for (size_t i = 0; i < rules.size(); ++i) {
        const sigma::Rule& r = ctx_.rules[rules[i].first];
        if (i) buf_ += ',';
        buf_ += "{\"name\":\"rule\",\"value\":";
        append_json_string(buf_, fmt::format("{} ({}, {} detection{}, {})", r.title, sigma::level_name(r.level),
                                             rules[i].second, rules[i].second == 1 ? "" : "s", r.id));
        buf_ += '}';
      }
      buf_ += "]}";
    }
    buf_ += fmt::format("],\"gradient\":{{\"colors\":[\"#ffe766ff\",\"#ff6666ff\"],\"minValue\":0,\"maxValue\":{}}},",
                        std::max<uint64_t>(max, 1));
    buf_ += "\"legendItems\":[],\"showTacticRowBackground\":false,\"metadata\":[{\"name\":\"generated by\",\"value\":";
    append_json_string(buf_, "vigil " + s.run.version);
    buf_ += "}]}\n";
    return flush();
  }

 private:
  struct Hits {
    uint64_t total = 0;
    std::map<uint32_t, uint64_t> by_rule;
  };
  std::map<std::string, Hits> hits_;
  std::vector<std::vector<std::string>> techniques_of_;
  std::vector<uint8_t> done_;
};

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GB", double(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MB", double(b) / (1ull << 20));
  if (b >= 1024) return fmt::format("{:.1f} KB", double(b) / 1024);
  return fmt::format("{} B", b);
}

std::string short_time(uint64_t t) {
  std::string s = format_time(t);
  return s.size() > 20 ? s.substr(0, 19) + "Z" : s;
}

}  // namespace

void append_csv_field(std::string& out, std::string_view f) {
  const bool quote = f.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!f.empty() && (f.front() == ' ' || f.back() == ' '));
  if (!quote) {
    out += f;
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::unique_ptr<DetectionSink> make_table_sink(std::FILE* out, const DetectionContext& ctx, TableOptions o) {
  return std::make_unique<TableSink>(out, ctx, o);
}
std::unique_ptr<DetectionSink> make_jsonl_sink(std::FILE* out, const DetectionContext& ctx) {
  return std::make_unique<JsonlSink>(out, ctx);
}
std::unique_ptr<DetectionSink> make_csv_sink(std::FILE* out, const DetectionContext& ctx) {
  return std::make_unique<CsvSink>(out, ctx);
}
std::unique_ptr<DetectionSink> make_navigator_sink(std::FILE* out, const DetectionContext& ctx) {
  return std::make_unique<NavigatorSink>(out, ctx);
}

void write_summary_text(std::FILE* out, const HuntSummary& s, const DetectionContext& ctx, bool color) {
  const char* bold = color ? "\x1b[1m" : "";
  const char* off = color ? "\x1b[0m" : "";
  auto level_on = [color](sigma::Level l) -> const char* {
    if (!color) return "";
    switch (l) {
      case sigma::Level::Critical: return "\x1b[1;35m";
      case sigma::Level::High: return "\x1b[1;31m";
      case sigma::Level::Medium: return "\x1b[33m";
      case sigma::Level::Low: return "\x1b[36m";
      default: return "\x1b[2m";
    }
  };
  std::string o;
  o += fmt::format("\n{}Summary{}\n", bold, off);
  if (!s.stories.empty()) {
    o += fmt::format("\n{}Stories{} (incidents per computer, most important first)\n", bold, off);
    const size_t shown = std::min<size_t>(s.stories.size(), 10);
    for (size_t i = 0; i < shown; ++i) {
      const Story& st = s.stories[i];
      std::string tactics;
      for (int t : st.tactics) tactics += (tactics.empty() ? "" : ", ") + ctx.attack->tactics()[size_t(t)].name;
      o += fmt::format("  #{:<3} {}{:<8}{} {:<20} {} .. {}  {} detection{}, {} rule{}\n", st.id, level_on(st.level),
                       sigma::level_name(st.level), off, st.computer, short_time(st.first), short_time(st.last),
                       st.detections, st.detections == 1 ? "" : "s", st.rules.size(), st.rules.size() == 1 ? "" : "s");
      if (!tactics.empty()) o += fmt::format("        tactics: {}\n", tactics);
      for (size_t r = 0; r < std::min<size_t>(st.rules.size(), 3); ++r)
        o += fmt::format("        {:>5}x {}\n", st.rules[r].second, ctx.rules[st.rules[r].first].title);
    }
    if (s.stories.size() > shown) o += fmt::format("  ... and {} more stories\n", s.stories.size() - shown);
  }
  o += fmt::format("\n  read     {} file{} ({}), {} events in {:.2f} s ({:.0f} events/s); {} rules\n", s.files_read,
                   s.files_read == 1 ? "" : "s", human_bytes(s.bytes), s.events, s.seconds,
                   s.seconds > 0 ? double(s.events) / s.seconds : 0.0, s.rules_loaded);
  o += fmt::format("  found    {} detection{}", s.detections, s.detections == 1 ? "" : "s");
  if (s.reported != s.detections) o += fmt::format(" ({} lines after --dedup)", s.reported);
  o += ":";
  for (int l = 4; l >= 0; --l)
    o += fmt::format(" {}{} {}{}", level_on(sigma::Level(l)), s.by_level[size_t(l)], sigma::level_name(sigma::Level(l)),
                     off);
  o += '\n';
  if (s.first) o += fmt::format("  span     {} .. {}\n", short_time(s.first), short_time(s.last));
  if (!s.rules.empty()) {
    o += "  top rules\n";
    for (size_t i = 0; i < std::min<size_t>(s.rules.size(), 10); ++i) {
      const sigma::Rule& r = ctx.rules[s.rules[i].rule];
      o += fmt::format("    {:>7}  {}{:<13}{} {}\n", s.rules[i].count, level_on(r.level), sigma::level_name(r.level),
                       off, r.title);
    }
  }
  if (!s.computers.empty()) {
    o += "  top computers\n";
    for (size_t i = 0; i < std::min<size_t>(s.computers.size(), 10); ++i)
      o += fmt::format("    {:>7}  {}\n", s.computers[i].count, s.computers[i].name.empty() ? "(none)" : s.computers[i].name);
  }
  if (!s.tactics.empty()) {
    o += "  ATT&CK tactics\n";
    for (const auto& [t, n] : s.tactics) {
      const Tactic& tactic = ctx.attack->tactics()[size_t(t)];
      o += fmt::format("    {:>7}  {} {}\n", n, tactic.id, tactic.name);
    }
  }
  if (!s.techniques.empty()) {
    o += "  ATT&CK techniques\n   ";
    for (size_t i = 0; i < s.techniques.size(); ++i)
      o += fmt::format(" {} ({}){}", s.techniques[i].name, s.techniques[i].count,
                       (i + 1) % 6 == 0 && i + 1 < s.techniques.size() ? "\n   " : "");
    o += '\n';
  }
  if (s.network_events) {
    o += fmt::format("  network  {} event{} read by the network analytics, {} finding{}\n", s.network_events,
                     s.network_events == 1 ? "" : "s", s.network.size(), s.network.size() == 1 ? "" : "s");
    if (!s.network_internal_seen) {
      std::string nets;
      for (const auto& n : s.internal_networks) nets += (nets.empty() ? "" : ", ") + n;
      o += fmt::format("    no connection came from the internal networks ({}): nothing left them to analyse; give "
                       "--internal-networks for this data\n", nets);
    }
    // Up to 5 per analytic, in the order the analytics report (best first).
    std::vector<std::string_view> order;
    for (const NetworkFinding& f : s.network)
      if (std::find(order.begin(), order.end(), f.analytic) == order.end()) order.push_back(f.analytic);
    for (std::string_view a : order) {
      size_t n = 0, shown = 0;
      for (const NetworkFinding& f : s.network) n += f.analytic == a;
      const char* name = network_analytic_name(a);
      o += fmt::format("    {} ({})\n", name ? std::string(name) : std::string(a), n);
      for (const NetworkFinding& f : s.network) {
        if (f.analytic != a || shown == 5) continue;
        ++shown;
        o += fmt::format("      {:.2f}  {}\n", f.score, f.title);
      }
      if (n > shown) o += fmt::format("      ... and {} more\n", n - shown);
    }
  }
  if (!s.unreadable.empty()) {
    o += fmt::format("  unreadable inputs ({})\n", s.unreadable.size());
    for (const auto& u : s.unreadable) o += fmt::format("    {}: {}\n", u.path, u.reason);
  }
  std::fwrite(o.data(), 1, o.size(), out);
}

}  // namespace vigil
