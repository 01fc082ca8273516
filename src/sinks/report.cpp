#include "sinks/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "event/time.hpp"
#include "event/value.hpp"

namespace vigil {

void HuntTally::add(const Detection& d) {
  const uint64_t n = d.count;
  detections_ += n;
  if (d.time) {
    if (!first_ || d.time < first_) first_ = d.time;
    last_ = std::max({last_, d.time, d.last_time});
  }
  const size_t nrules = ctx_.rules.size();
  if (rules_.size() < nrules) {
    rules_.resize(nrules);
    rule_tactics_.resize(nrules);
    rule_techniques_.resize(nrules);
    rule_tags_done_.resize(nrules, 0);
  }
  const sigma::Rule& rule = ctx_.rules[d.rule];
  by_level_[size_t(rule.level)] += n;
  RuleHits& h = rules_[d.rule];
  h.rule = d.rule;
  h.count += n;
  if (d.time) {
    if (!h.first || d.time < h.first) h.first = d.time;
    h.last = std::max(h.last, std::max(d.time, d.last_time));
  }
  if (!rule_tags_done_[d.rule]) {
    AttackTags t = ctx_.attack->classify(rule.tags);
    rule_tactics_[d.rule] = std::move(t.tactics);
    rule_techniques_[d.rule] = std::move(t.techniques);
    rule_tags_done_[d.rule] = 1;
  }
  auto [it, fresh] = computer_index_.try_emplace(d.computer, computers_.size());
  if (fresh) computers_.emplace_back(d.computer, 0);
  computers_[it->second].second += n;
}

void HuntTally::fill(HuntSummary& s) const {
  s.detections = detections_;
  s.first = first_;
  s.last = last_;
  s.by_level = by_level_;
  s.rules.clear();
  std::map<int, uint64_t> tactics;
  std::map<std::string, uint64_t> techniques;
  for (const RuleHits& h : rules_) {
    if (!h.count) continue;
    s.rules.push_back(h);
    for (int t : rule_tactics_[h.rule]) tactics[t] += h.count;
    for (const auto& t : rule_techniques_[h.rule]) techniques[t] += h.count;
  }
  std::stable_sort(s.rules.begin(), s.rules.end(), [](const RuleHits& a, const RuleHits& b) { return a.count > b.count; });
  s.computers.clear();
  for (const auto& [name, n] : computers_) s.computers.push_back({name, n});
  std::sort(s.computers.begin(), s.computers.end(), [](const NamedCount& a, const NamedCount& b) {
    return a.count != b.count ? a.count > b.count : a.name < b.name;
  });
  s.tactics.assign(tactics.begin(), tactics.end());
  s.techniques.clear();
  for (const auto& [id, n] : techniques) s.techniques.push_back({id, n});
  std::stable_sort(s.techniques.begin(), s.techniques.end(),
                   [](const NamedCount& a, const NamedCount& b) { return a.count > b.count; });
}

namespace {

void append_strings(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, v[i]);
  }
  out += ']';
}

void key(std::string& out, const char* k, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += k;
  out += "\":";
}

// The start of a rule reference, {"id","title","level","count" and the object
// left open for more keys: summaries and stories list the rules that fired so.
void open_rule_ref(std::string& out, const sigma::Rule& r, uint64_t count) {
  out += "{\"id\":";
  append_json_string(out, r.id);
  key(out, "title");
  append_json_string(out, r.title);
  key(out, "level");
  append_json_string(out, sigma::level_name(r.level));
  out += fmt::format(",\"count\":{}", count);
}

}  // namespace

void append_rule_json(std::string& out, const sigma::Rule& r) {
  out += '{';
  key(out, "id", true);
  append_json_string(out, r.id);
  key(out, "title");
  append_json_string(out, r.title);
  key(out, "level");
  append_json_string(out, sigma::level_name(r.level));
  key(out, "status");
  append_json_string(out, r.status);
  key(out, "description");
  append_json_string(out, r.description);
  key(out, "author");
  append_json_string(out, r.author);
  key(out, "date");
  append_json_string(out, r.date);
  key(out, "references");
  append_strings(out, r.references);
  key(out, "tags");
  append_strings(out, r.tags);
  key(out, "falsepositives");
  append_strings(out, r.falsepositives);
  key(out, "path");
  append_json_string(out, r.path);
  out += '}';
}

void append_story_json(std::string& out, const Story& s, const DetectionContext& ctx) {
  const auto& tactics = ctx.attack->tactics();
  out += "{\"type\":\"story\"";
  out += fmt::format(",\"id\":{}", s.id);
  key(out, "computer");
  append_json_string(out, s.computer);
  key(out, "first");
  append_time_json(out, s.first);
  key(out, "last");
  append_time_json(out, s.last);
  key(out, "level");
  append_json_string(out, sigma::level_name(s.level));
  key(out, "tactics");
  out += '[';
  for (size_t i = 0; i < s.tactics.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, tactics[size_t(s.tactics[i])].name);
  }
  out += ']';
  key(out, "tactic_tags");
  out += '[';
  for (size_t i = 0; i < s.tactics.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, tactics[size_t(s.tactics[i])].tag);
  }
  out += ']';
  key(out, "techniques");
  append_strings(out, s.techniques);
  out += fmt::format(",\"detections\":{}", s.detections);
  key(out, "rules");
  out += '[';
  for (size_t i = 0; i < s.rules.size(); ++i) {
    if (i) out += ',';
    open_rule_ref(out, ctx.rules[s.rules[i].first], s.rules[i].second);
    out += '}';
  }
  out += "]}";
}

void append_summary_json(std::string& out, const HuntSummary& s, const DetectionContext& ctx) {
  out += "{\"run\":{";
  key(out, "version", true);
  append_json_string(out, s.run.version);
  key(out, "command");
  append_json_string(out, s.run.command);
  key(out, "started");
  append_time_json(out, s.run.started);
  out += fmt::format(",\"threads\":{}", s.run.threads);
  key(out, "rule_paths");
  append_strings(out, s.run.rule_paths);
  key(out, "inputs");
  append_strings(out, s.run.inputs);
  key(out, "filters");
  append_strings(out, s.run.filters);
  out += "}";
  out += fmt::format(",\"rules_loaded\":{},\"files_read\":{},\"files_unreadable\":{},\"events\":{},\"bytes\":{}",
                     s.rules_loaded, s.files_read, s.unreadable.size(), s.events, s.bytes);
  out += fmt::format(",\"seconds\":{:.3f},\"events_per_second\":{:.0f}", s.seconds,
                     s.seconds > 0 ? double(s.events) / s.seconds : 0.0);
  out += fmt::format(",\"detections\":{},\"reported\":{}", s.detections, s.reported);
  key(out, "by_level");
  out += '{';
  for (int l = 4; l >= 0; --l) {
    out += fmt::format("\"{}\":{}", sigma::level_name(sigma::Level(l)), s.by_level[size_t(l)]);
    if (l) out += ',';
  }
  out += '}';
  key(out, "rules");
  out += '[';
  for (size_t i = 0; i < s.rules.size(); ++i) {
    const RuleHits& h = s.rules[i];
    if (i) out += ',';
    open_rule_ref(out, ctx.rules[h.rule], h.count);
    key(out, "first");
    append_time_json(out, h.first);
    key(out, "last");
    append_time_json(out, h.last);
    out += '}';
  }
  out += ']';
  key(out, "computers");
  out += '[';
  for (size_t i = 0; i < s.computers.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    append_json_string(out, s.computers[i].name);
    out += fmt::format(",\"count\":{}}}", s.computers[i].count);
  }
  out += ']';
  key(out, "tactics");
  out += '[';
  for (size_t i = 0; i < s.tactics.size(); ++i) {
    const Tactic& t = ctx.attack->tactics()[size_t(s.tactics[i].first)];
    if (i) out += ',';
    out += "{\"id\":";
    append_json_string(out, t.id);
    key(out, "name");
    append_json_string(out, t.name);
    key(out, "tag");
    append_json_string(out, t.tag);
    out += fmt::format(",\"count\":{}}}", s.tactics[i].second);
  }
  out += ']';
  key(out, "techniques");
  out += '[';
  for (size_t i = 0; i < s.techniques.size(); ++i) {
    if (i) out += ',';
    out += "{\"id\":";
    append_json_string(out, s.techniques[i].name);
    out += fmt::format(",\"count\":{}}}", s.techniques[i].count);
  }
  out += ']';
  key(out, "first");
  append_time_json(out, s.first);
  key(out, "last");
  append_time_json(out, s.last);
  key(out, "unreadable");
  out += '[';
  for (size_t i = 0; i < s.unreadable.size(); ++i) {
    if (i) out += ',';
    out += "{\"path\":";
    append_json_string(out, s.unreadable[i].path);
    key(out, "reason");
    append_json_string(out, s.unreadable[i].reason);
    out += '}';
  }
  out += ']';
  key(out, "network");
  append_network_json(out, s);
  out += '}';
}

const char* network_analytic_name(std::string_view analytic) {
  static constexpr std::pair<std::string_view, const char*> kNames[] = {
      {"beacon", "Beacons"},
      {"long-connection", "Long connections"},
      {"dns-tunnel", "DNS tunnels"},
      {"dga", "Generated domains (DGA)"},
      {"upload", "Uploads"},
      {"http-upload", "HTTP uploads"},
      {"rare-user-agent", "Rare user agents"},
      {"rare-tls-fingerprint", "Rare TLS fingerprints"},
      {"missing-host-header", "HTTP requests without Host"},
  };
  for (const auto& [k, v] : kNames)
    if (k == analytic) return v;
  return nullptr;
}

void append_network_json(std::string& out, const HuntSummary& s) {
  out += fmt::format("{{\"events\":{}", s.network_events);
  key(out, "internal_networks");
  append_strings(out, s.internal_networks);
  out += fmt::format(",\"internal_source_seen\":{}", s.network_internal_seen ? "true" : "false");
  key(out, "findings");
  out += '[';
  for (size_t i = 0; i < s.network.size(); ++i) {
    const NetworkFinding& f = s.network[i];
    if (i) out += ',';
    out += "{\"analytic\":";
    append_json_string(out, f.analytic);
    key(out, "src");
    append_json_string(out, f.src);
    key(out, "dst");
    append_json_string(out, f.dst);
    out += fmt::format(",\"score\":{:.3f}", f.score);
    key(out, "title");
    append_json_string(out, f.title);
    key(out, "first");
    append_time_json(out, f.first_time);
    key(out, "last");
    append_time_json(out, f.last_time);
    key(out, "figures");
    out += '{';
    for (size_t j = 0; j < f.figures.size(); ++j) {
      if (j) out += ',';
      append_json_string(out, f.figures[j].name);
      out += ':';
      out += f.figures[j].json;
    }
    out += "}}";
  }
  out += "]}";
}

}  // namespace vigil
