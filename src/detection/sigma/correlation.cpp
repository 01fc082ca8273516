#include "detection/sigma/correlation.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "event/text.hpp"
#include "event/time.hpp"
#include "event/value.hpp"

namespace vigil::sigma {
namespace {

constexpr uint64_t kSecond = 10'000'000;
constexpr int kMaxChainDepth = 16;  // correlations of correlations; also stops reference cycles

const char* op_name(Bound::Op op) {
  switch (op) {
    case Bound::Op::Gt: return "gt";
    case Bound::Op::Gte: return "gte";
    case Bound::Op::Lt: return "lt";
    case Bound::Op::Lte: return "lte";
    case Bound::Op::Eq: return "eq";
    case Bound::Op::Neq: return "neq";
  }
  return "?";
}

std::string number_text(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 1e15) return fmt::format("{}", int64_t(x));
  return fmt::format("{:.6g}", x);
}

std::string condition_text(const std::vector<Bound>& c) {
  std::string s;
  for (const Bound& b : c) s += (s.empty() ? "" : " and ") + std::string(op_name(b.op)) + " " + number_text(b.value);
  return s;
}

}  // namespace

const char* correlation_type_name(CorrelationType t) {
  switch (t) {
    case CorrelationType::EventCount: return "event_count";
    case CorrelationType::ValueCount: return "value_count";
    case CorrelationType::Temporal: return "temporal";
    case CorrelationType::TemporalOrdered: return "temporal_ordered";
    case CorrelationType::ValueSum: return "value_sum";
    case CorrelationType::ValueAvg: return "value_avg";
    case CorrelationType::ValuePercentile: return "value_percentile";
  }
  return "?";
}

bool Bound::holds(double x) const {
  switch (op) {
    case Op::Gt: return x > value;
    case Op::Gte: return x >= value;
    case Op::Lt: return x < value;
    case Op::Lte: return x <= value;
    case Op::Eq: return x == value;
    case Op::Neq: return x != value;
  }
  return false;
}

bool parse_timespan(const std::string& text, uint64_t& ticks) {
  if (text.size() < 2) return false;
  const char unit = text.back();
  uint64_t mult;
  switch (unit) {
    case 's': mult = kSecond; break;
    case 'm': mult = 60 * kSecond; break;
    case 'h': mult = 3600 * kSecond; break;
    case 'd': mult = 86400 * kSecond; break;
    default: return false;
  }
  uint64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    n = n * 10 + uint64_t(text[i] - '0');
    if (n > 100'000'000) return false;
  }
  if (n == 0) return false;
  ticks = n * mult;
  return true;
}

bool parse_correlation(const YAML::Node& doc, Correlation& out, std::string* field, std::string* error) {
  auto fail = [&](const char* f, std::string msg) {
    *field = f;
    *error = std::move(msg);
    return false;
  };
  try {
    read_rule_metadata(doc, out.meta);
    if (out.meta.title.empty()) return fail("title", "missing (the spec makes it mandatory)");
    if (const YAML::Node lvl = doc["level"]) {
      if (!lvl.IsScalar() || !parse_level(lvl.Scalar(), out.meta.level))
        return fail("level", "not informational, low, medium, high or critical");
      out.meta.level_given = true;
    }
    if (const YAML::Node g = doc["generate"]) {
      if (!g.IsScalar()) return fail("generate", "must be true or false");
      const std::string v = ascii_lower(g.Scalar());
      if (v != "true" && v != "false") return fail("generate", "must be true or false");
      out.generate = v == "true";
    }
    const YAML::Node c = doc["correlation"];
    if (!c || !c.IsMap()) return fail("correlation", "must be a map");
    const std::string type = c["type"] && c["type"].IsScalar() ? c["type"].Scalar() : "";
    static const std::pair<const char*, CorrelationType> kTypes[] = {
        {"event_count", CorrelationType::EventCount},   {"value_count", CorrelationType::ValueCount},
        {"temporal", CorrelationType::Temporal},        {"temporal_ordered", CorrelationType::TemporalOrdered},
        {"value_sum", CorrelationType::ValueSum},       {"value_avg", CorrelationType::ValueAvg},
        {"value_percentile", CorrelationType::ValuePercentile}};
    bool known = false;
    for (const auto& [name, t] : kTypes)
      if (type == name) {
        out.type = t;
        known = true;
      }
    if (!known) return fail("correlation.type", fmt::format("`{}` is not a correlation type of the specification", type));

    const YAML::Node rules = c["rules"];
    if (rules && rules.IsScalar()) out.rules.push_back(rules.Scalar());
    else if (rules && rules.IsSequence())
      for (const auto& r : rules)
        if (r.IsScalar()) out.rules.push_back(r.Scalar());
    if (out.rules.empty()) return fail("correlation.rules", "must name at least one rule");

    const YAML::Node group = c["group-by"];
    if (group && group.IsScalar()) out.group_by.push_back(group.Scalar());
    else if (group && group.IsSequence())
      for (const auto& g : group)
        if (g.IsScalar()) out.group_by.push_back(g.Scalar());
    // The schema requires group-by for every type; an absent one is read as a
    // single group (all events together), which is what it would mean.

    const YAML::Node span = c["timespan"] ? c["timespan"] : c["timeframe"];
    if (!span || !span.IsScalar() || !parse_timespan(span.Scalar(), out.timespan))
      return fail("correlation.timespan", "missing, or not a number and s, m, h or d (e.g. 10m)");

    if (const YAML::Node al = c["aliases"]) {
      if (!al.IsMap()) return fail("correlation.aliases", "must map each alias to {rule name: field}");
      for (const auto& kv : al) {
        if (!kv.second.IsMap()) return fail("correlation.aliases", "must map each alias to {rule name: field}");
        auto& m = out.aliases[kv.first.as<std::string>()];
        for (const auto& rf : kv.second) m[rf.first.as<std::string>()] = rf.second.as<std::string>();
      }
    }

    const YAML::Node cond = c["condition"];
    const bool value_type = out.type == CorrelationType::ValueCount || out.type == CorrelationType::ValueSum ||
                            out.type == CorrelationType::ValueAvg || out.type == CorrelationType::ValuePercentile;
    if (cond) {
      if (!cond.IsMap()) return fail("correlation.condition", "must be a map such as {gte: 10}");
      for (const auto& kv : cond) {
        const std::string k = kv.first.as<std::string>();
        if (k == "field") {
          if (kv.second.IsScalar()) out.field = kv.second.Scalar();
          else if (kv.second.IsSequence())
            for (const auto& f : kv.second) out.field += (out.field.empty() ? "" : ",") + f.as<std::string>();
          continue;
        }
        static const std::pair<const char*, Bound::Op> kOps[] = {{"gt", Bound::Op::Gt},   {"gte", Bound::Op::Gte},
                                                                 {"lt", Bound::Op::Lt},   {"lte", Bound::Op::Lte},
                                                                 {"eq", Bound::Op::Eq},   {"neq", Bound::Op::Neq}};
        bool ok = false;
        for (const auto& [name, op] : kOps)
          if (k == name) {
            char* end = nullptr;
            const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
            const double x = std::strtod(v.c_str(), &end);
            if (v.empty() || !end || *end) return fail("correlation.condition", fmt::format("`{}` needs a number", k));
            out.condition.push_back({op, x});
            ok = true;
          }
        if (!ok) return fail("correlation.condition", fmt::format("unknown operator `{}`", k));
      }
    }
    const bool temporal = out.type == CorrelationType::Temporal || out.type == CorrelationType::TemporalOrdered;
    if (!temporal && out.condition.empty())
      return fail("correlation.condition", "needs a comparison such as {gte: 10}");
    if (value_type && out.field.empty()) return fail("correlation.condition.field", "this type needs the field it aggregates");
    return true;
  } catch (const YAML::Exception& e) {
    *field = "correlation";
    *error = fmt::format("unexpected YAML structure: {}", e.what());
    return false;
  }
}

// ---------------------------------------------------------------------------

namespace {

struct BaseRef {
  uint32_t rule;
  uint32_t source;
  uint64_t time, record_id;
  std::string computer;
};

struct Entry {
  uint64_t time;
  double number = 0;
  std::string value;
};

}  // namespace

struct CorrelationEngine::Group {
  uint64_t generation = 0;
  uint64_t first = 0, last = 0;  // window start (tumbling) and latest event
  uint64_t count = 0;            // events added to this window
  std::deque<Entry> entries;
  std::unordered_map<std::string, uint64_t> distinct;
  double sum = 0;
  std::vector<uint64_t> seen;  // temporal: latest time per position; temporal_ordered: chain start per position
  // temporal_ordered: time and sequence of the latest event of each position,
  // to let events of one instant meet the order whichever arrives first.
  std::vector<uint64_t> step_time, step_sequence;
  std::deque<BaseRef> bases;
  std::vector<std::pair<std::string, std::string>> values;  // group-by field and value
  std::string computer;
  uint32_t source = 0;
};

struct CorrelationEngine::State {
  std::unordered_map<std::string, Group> groups;
};

CorrelationEngine::CorrelationEngine(std::vector<Correlation> correlations, std::vector<uint32_t> meta_index,
                                     RuleTable rules, std::vector<RuleProblem>* problems)
    : correlations_(std::move(correlations)), meta_index_(std::move(meta_index)), rules_(rules) {
  hidden_.assign(rules_.size(), 0);
  std::vector<uint8_t> shown(rules_.size(), 0);
  // Only the names correlations refer to are looked up: most rule sets have
  // few correlations or none, and thousands of rules.
  std::unordered_map<std::string_view, std::vector<uint32_t>> by_ref;
  for (const Correlation& corr : correlations_)
    for (const std::string& ref : corr.rules) by_ref.try_emplace(ref);
  if (!by_ref.empty())
    for (uint32_t i = 0; i < rules_.size(); ++i) {
      const Rule& r = rules_[i];
      if (auto it = by_ref.find(r.id); it != by_ref.end() && !r.id.empty()) it->second.push_back(i);
      if (r.name.empty() || r.name == r.id) continue;
      if (auto it = by_ref.find(r.name); it != by_ref.end()) it->second.push_back(i);
    }
  positions_.resize(correlations_.size());
  for (size_t c = 0; c < correlations_.size(); ++c) {
    const Correlation& corr = correlations_[c];
    for (size_t p = 0; p < corr.rules.size(); ++p) {
      auto it = by_ref.find(corr.rules[p]);
      if (it == by_ref.end() || it->second.empty()) {
        if (problems)
          problems->push_back({corr.meta.path, corr.meta.document, corr.meta.id.empty() ? corr.meta.title : corr.meta.id,
                               "correlation.rules",
                               fmt::format("`{}` names no loaded rule: that part never matches", corr.rules[p]), true});
        continue;
      }
      for (uint32_t r : it->second) {
        if (r == meta_index_[c]) continue;  // a correlation cannot feed itself
        auto& pos = positions_[c][r];
        if (pos.empty()) consumers_[r].push_back(c);
        pos.push_back(int(p));
        if (corr.generate) shown[r] = 1;
        else hidden_[r] = 1;
      }
    }
    const bool lower_only = !corr.condition.empty() &&
                            std::all_of(corr.condition.begin(), corr.condition.end(), [](const Bound& b) {
                              return b.op == Bound::Op::Gt || b.op == Bound::Op::Gte;
                            });
    bool mono = false;
    switch (corr.type) {
      case CorrelationType::EventCount:
      case CorrelationType::ValueCount:
      case CorrelationType::ValueSum: mono = lower_only; break;
      case CorrelationType::Temporal: mono = corr.condition.empty() || lower_only; break;
      case CorrelationType::TemporalOrdered: mono = true; break;
      case CorrelationType::ValueAvg:
      case CorrelationType::ValuePercentile: mono = false; break;
    }
    monotone_.push_back(mono);
    states_.push_back(std::make_unique<State>());
    last_event_.emplace_back(0, 0);
  }
  for (uint32_t r = 0; r < rules_.size(); ++r)
    if (shown[r]) hidden_[r] = 0;
}

CorrelationEngine::~CorrelationEngine() = default;

const Correlation* CorrelationEngine::correlation_of(uint32_t rule) const {
  for (size_t c = 0; c < meta_index_.size(); ++c)
    if (meta_index_[c] == rule) return &correlations_[c];
  return nullptr;
}

namespace {

// The rule-specific field behind a group-by name (aliases), by rule name or id.
const std::string& resolve_field(const Correlation& corr, const std::string& name, const Rule& rule) {
  auto a = corr.aliases.find(name);
  if (a == corr.aliases.end()) return name;
  if (auto f = a->second.find(rule.name); !rule.name.empty() && f != a->second.end()) return f->second;
  if (auto f = a->second.find(rule.id); !rule.id.empty() && f != a->second.end()) return f->second;
  return name;
}

std::string json_value_text(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (e.is_null()) return {};
  return simdjson::minify(e);
}

// Text of a (comma-separated list of) field(s) in the event's JSON; false when absent.
bool event_value(simdjson::dom::object& obj, const std::string& fields, std::string& out) {
  out.clear();
  size_t start = 0;
  bool any = false;
  for (;;) {
    const size_t comma = fields.find(',', start);
    const std::string f = fields.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    simdjson::dom::element e;
    if (obj.at_key(f).get(e) == simdjson::SUCCESS && !e.is_null()) {
      if (any || start) out += '\x1f';
      out += json_value_text(e);
      any = true;
    } else if (comma != std::string::npos || start) {
      out += '\x1f';
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return any;
}

}  // namespace

std::string CorrelationEngine::group_key(size_t c, const Detection& d,
                                         std::vector<std::pair<std::string, std::string>>& values) {
  const Correlation& corr = correlations_[c];
  values.clear();
  std::string key;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  const bool parsed = parser.parse(d.event_json).get(obj) == simdjson::SUCCESS;
  for (const auto& g : corr.group_by) {
    std::string v;
    if (parsed) event_value(obj, resolve_field(corr, g, rules_[d.rule]), v);
    key += v;
    key += '\x1e';
    values.emplace_back(g, std::move(v));
  }
  return key;
}

void CorrelationEngine::add(const Detection& d, std::vector<Detection>& out) {
  if (d.time == 0 || !consumers_.count(d.rule)) return;
  if (!pending_.empty() && pending_.front().time != d.time) flush(out);
  pending_.push_back(d);
}

void CorrelationEngine::flush(std::vector<Detection>& out) {
  if (pending_.empty()) return;
  // Within one instant the timeline's order is the input's: replace it by one
  // of the detections' content. The detections of one event (same content
  // and sequence) stay together, as feed() expects.
  std::sort(pending_.begin(), pending_.end(), [](const Detection& a, const Detection& b) {
    if (a.event_json != b.event_json) return a.event_json < b.event_json;
    if (a.computer != b.computer) return a.computer < b.computer;
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    return a.rule < b.rule;
  });
  close_until(pending_.front().time, false, out);
  for (const Detection& d : pending_) {
    feed_consumers(d, out, 0);
    if (++adds_ % 1024 == 0) sweep(d.time);
  }
  pending_.clear();
}

void CorrelationEngine::feed_consumers(const Detection& d, std::vector<Detection>& out, int depth) {
  auto it = consumers_.find(d.rule);
  if (it == consumers_.end()) return;
  const std::vector<size_t> consumers = it->second;  // feed() may add detections that recurse here
  for (size_t c : consumers) feed(c, d, out, depth);
}

void CorrelationEngine::finish(std::vector<Detection>& out) {
  flush(out);
  close_until(UINT64_MAX, true, out);
}

void CorrelationEngine::close_until(uint64_t time, bool inclusive, std::vector<Detection>& out) {
  while (!closes_.empty() && (closes_.top().time < time || (inclusive && closes_.top().time <= time))) {
    Close cl = closes_.top();
    closes_.pop();
    State& st = *states_[cl.correlation];
    auto g = st.groups.find(cl.key);
    if (g == st.groups.end() || g->second.generation != cl.generation) continue;
    judge_closed(cl.correlation, cl.key, out, 0);
  }
}

void CorrelationEngine::feed(size_t c, const Detection& d, std::vector<Detection>& out, int depth) {
  if (depth > kMaxChainDepth) return;
  const Correlation& corr = correlations_[c];
  State& st = *states_[c];

  // The aggregated value, for the value types. An event without one takes no
  // part: it is looked at before any group is made, so that it leaves no
  // state behind (a window judged at its close is only scheduled by a counted
  // event, and nothing else would release an empty group).
  std::string value;
  double number = 0;
  const bool value_type = corr.type == CorrelationType::ValueCount || corr.type == CorrelationType::ValueSum ||
                          corr.type == CorrelationType::ValueAvg || corr.type == CorrelationType::ValuePercentile;
  // One event that several of the named rules match is one event to count
  // (event_count "counts events"; a sum or an average takes each value once).
  // Detections of one event share their time and sequence and come together.
  if (value_type || corr.type == CorrelationType::EventCount) {
    if (d.sequence != 0 && last_event_[c] == std::make_pair(d.time, d.sequence)) return;
    last_event_[c] = {d.time, d.sequence};
  }
  if (value_type) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(d.event_json).get(obj) != simdjson::SUCCESS) return;
    if (!event_value(obj, resolve_field(corr, corr.field, rules_[d.rule]), value)) return;  // no value: not counted
    if (corr.type == CorrelationType::ValueSum || corr.type == CorrelationType::ValueAvg) {
      char* end = nullptr;
      number = std::strtod(value.c_str(), &end);
      if (value.empty() || !end || *end || !std::isfinite(number)) return;  // not a number: not counted
    }
  }

  std::vector<std::pair<std::string, std::string>> values;
  const std::string key = group_key(c, d, values);
  auto [it, fresh] = st.groups.try_emplace(key);
  Group& g = it->second;
  if (fresh) {
    g.generation = ++generations_;
    g.values = std::move(values);
    stats_.groups_live++;
    stats_.groups_peak = std::max(stats_.groups_peak, stats_.groups_live);
  }
  const uint64_t t = d.time;
  const bool mono = monotone_[c];

  const size_t n = corr.rules.size();
  if (g.seen.size() != n) g.seen.assign(n, 0);
  if (!mono && g.count == 0) {
    // A new tumbling window opens with this event and is judged when it closes.
    g.first = t;
    closes_.push({t + corr.timespan, c, key, g.generation});
  }
  if (mono) {
    // Slide: drop what is more than a timespan older than this event.
    while (!g.entries.empty() && g.entries.front().time + corr.timespan < t) {
      Entry& e = g.entries.front();
      if (corr.type == CorrelationType::ValueCount) {
        auto di = g.distinct.find(e.value);
        if (di != g.distinct.end() && --di->second == 0) g.distinct.erase(di);
      }
      g.sum -= e.number;
      g.entries.pop_front();
      --g.count;
      --stats_.entries_live;
    }
    while (!g.bases.empty() && g.bases.front().time + corr.timespan < t) g.bases.pop_front();
  }

  bool entry_added = false;
  switch (corr.type) {
    case CorrelationType::EventCount:
    case CorrelationType::ValueCount:
    case CorrelationType::ValueSum:
    case CorrelationType::ValueAvg:
    case CorrelationType::ValuePercentile:
      g.entries.push_back({t, number, corr.type == CorrelationType::EventCount ? std::string() : value});
      if (corr.type == CorrelationType::ValueCount || corr.type == CorrelationType::ValuePercentile) ++g.distinct[value];
      g.sum += number;
      entry_added = true;
      break;
    case CorrelationType::Temporal:
      for (int p : positions_[c][d.rule]) g.seen[size_t(p)] = t;
      // Its time only: so that the count slides with the window, and the
      // events reported are those inside it.
      g.entries.push_back({t, 0, {}});
      entry_added = true;
      break;
    case CorrelationType::TemporalOrdered: {
      // Each step this rule stands for (a rule may be listed twice), later
      // steps first so that one event does not fill two: the step keeps the
      // latest chain start that reaches it within the timespan.
      if (g.step_time.size() != n) {
        g.step_time.assign(n, 0);
        g.step_sequence.assign(n, 0);
      }
      const std::vector<int>& mine = positions_[c][d.rule];
      for (auto p = mine.rbegin(); p != mine.rend(); ++p) {
        const size_t k = size_t(*p);
        if (k == 0) g.seen[0] = std::max(g.seen[0], t);
        else if (g.seen[k - 1] && t - g.seen[k - 1] <= corr.timespan) g.seen[k] = std::max(g.seen[k], g.seen[k - 1]);
        g.step_time[k] = t;
        g.step_sequence[k] = d.sequence;
      }
      // Events of one instant have no order between them (their order in the
      // timeline is only their order in the input): a later step met at this
      // instant by another event, which arrived before this one, follows it
      // too. Never one event for two consecutive steps.
      for (size_t k = 1; k < n; ++k)
        if (g.step_time[k] == t && g.step_sequence[k] != d.sequence &&
            !(g.step_time[k - 1] == t && g.step_sequence[k - 1] == g.step_sequence[k]) && g.seen[k - 1] &&
            t - g.seen[k - 1] <= corr.timespan)
          g.seen[k] = std::max(g.seen[k], g.seen[k - 1]);
      g.entries.push_back({t, 0, {}});  // as for temporal
      entry_added = true;
      break;
    }
  }
  if (entry_added) {
    ++stats_.entries_live;
    stats_.entries_peak = std::max(stats_.entries_peak, stats_.entries_live);
  }
  ++g.count;
  g.last = t;
  g.computer = d.computer;
  g.source = d.source;
  g.bases.push_back({d.rule, d.source, t, d.record_id, d.computer});
  if (g.bases.size() > kMaxBaseRefs) g.bases.pop_front();

  if (!mono) return;
  double x = 0;
  bool fire = false;
  switch (corr.type) {
    case CorrelationType::EventCount: x = double(g.entries.size()); break;
    case CorrelationType::ValueCount: x = double(g.distinct.size()); break;
    case CorrelationType::ValueSum: x = g.sum; break;
    case CorrelationType::Temporal: {
      // Distinct rules (by position) seen within one timespan of this event.
      for (size_t p = 0; p < n; ++p)
        if (g.seen[p] && g.seen[p] + corr.timespan >= t) x += 1;
      if (corr.condition.empty()) fire = x == double(n);
      break;
    }
    case CorrelationType::TemporalOrdered:
      x = double(n);
      fire = g.seen[n - 1] != 0 && t - g.seen[n - 1] <= corr.timespan;
      break;
    default: break;
  }
  if (!corr.condition.empty() && corr.type != CorrelationType::TemporalOrdered)
    fire = std::all_of(corr.condition.begin(), corr.condition.end(), [x](const Bound& b) { return b.holds(x); });
  if (!fire) return;
  emit(c, g, key, t, x, "", nullptr, out, depth);
  stats_.entries_live -= g.entries.size();
  st.groups.erase(key);
  --stats_.groups_live;
}

void CorrelationEngine::judge_closed(size_t c, const std::string& key, std::vector<Detection>& out, int depth) {
  const Correlation& corr = correlations_[c];
  State& st = *states_[c];
  auto it = st.groups.find(key);
  if (it == st.groups.end()) return;
  Group& g = it->second;
  const uint64_t close = g.first + corr.timespan;
  auto holds = [&corr](double x) {
    return std::all_of(corr.condition.begin(), corr.condition.end(), [x](const Bound& b) { return b.holds(x); });
  };
  const size_t n = corr.rules.size();
  switch (corr.type) {
    case CorrelationType::EventCount:
      if (holds(double(g.entries.size()))) emit(c, g, key, close, double(g.entries.size()), "", nullptr, out, depth);
      break;
    case CorrelationType::ValueCount:
      if (holds(double(g.distinct.size()))) emit(c, g, key, close, double(g.distinct.size()), "", nullptr, out, depth);
      break;
    case CorrelationType::ValueSum:
      if (holds(g.sum)) emit(c, g, key, close, g.sum, "", nullptr, out, depth);
      break;
    case CorrelationType::ValueAvg: {
      const double avg = g.entries.empty() ? 0 : g.sum / double(g.entries.size());
      if (!g.entries.empty() && holds(avg)) emit(c, g, key, close, avg, "", nullptr, out, depth);
      break;
    }
    case CorrelationType::ValuePercentile: {
      // Each value's share of the group's events, in percent: the rare ones
      // (e.g. lte: 1) stand out.
      std::vector<std::pair<std::string, uint64_t>> vals(g.distinct.begin(), g.distinct.end());
      std::sort(vals.begin(), vals.end());
      const double total = double(g.entries.size());
      for (const auto& [v, cnt] : vals) {
        const double pct = 100.0 * double(cnt) / total;
        if (holds(pct)) emit(c, g, key, close, pct, "", &v, out, depth);
      }
      break;
    }
    case CorrelationType::Temporal: {
      double x = 0;
      for (size_t p = 0; p < n; ++p) x += g.seen[p] ? 1 : 0;
      if (corr.condition.empty() ? x == double(n) : holds(x)) emit(c, g, key, close, x, "", nullptr, out, depth);
      break;
    }
    case CorrelationType::TemporalOrdered: break;  // always judged as events arrive
  }
  stats_.entries_live -= g.entries.size();
  st.groups.erase(it);
  --stats_.groups_live;
}

void CorrelationEngine::emit(size_t c, Group& g, const std::string&, uint64_t time, double value, const std::string&,
                             const std::string* extra_field_value, std::vector<Detection>& out, int depth) {
  const Correlation& corr = correlations_[c];
  Detection d;
  d.rule = meta_index_[c];
  d.time = time;
  d.sequence = (uint64_t(1) << 62) + ++sequence_;  // after the base detections of the same instant
  d.source = g.source;
  d.computer = g.computer;
  for (const auto& [f, v] : g.values)
    if (ascii_lower(f) == "computer" || ascii_lower(f) == "computername" || ascii_lower(f) == "hostname") d.computer = v;

  // The event of a correlation: its group-by values (so that correlations of
  // correlations can group on them), and the rare value for percentiles.
  std::string& ev = d.event_json;
  ev = "{";
  for (const auto& [f, v] : g.values) {
    if (ev.size() > 1) ev += ',';
    append_json_string(ev, f);
    ev += ':';
    append_json_string(ev, v);
  }
  if (extra_field_value) {
    if (ev.size() > 1) ev += ',';
    append_json_string(ev, corr.field);
    ev += ':';
    append_json_string(ev, *extra_field_value);
  }
  ev += '}';

  const char* metric = "count";
  switch (corr.type) {
    case CorrelationType::ValueCount: metric = "distinct values"; break;
    case CorrelationType::ValueSum: metric = "sum"; break;
    case CorrelationType::ValueAvg: metric = "average"; break;
    case CorrelationType::ValuePercentile: metric = "percent of events"; break;
    case CorrelationType::Temporal:
    case CorrelationType::TemporalOrdered: metric = "rules seen"; break;
    default: break;
  }
  const std::string cond = corr.condition.empty() || corr.type == CorrelationType::TemporalOrdered
                               ? (corr.type == CorrelationType::TemporalOrdered ? "all, in order" : "all")
                               : condition_text(corr.condition);
  std::string& why = d.explain_json;
  why = "[{\"selection\":\"condition\",\"field\":";
  append_json_string(why, metric);
  why += ",\"value\":";
  append_json_string(why, number_text(value) + " (" + cond + ")");
  why += '}';
  for (const auto& [f, v] : g.values) {
    why += ",{\"selection\":\"group-by\",\"field\":";
    append_json_string(why, f);
    why += ",\"value\":";
    append_json_string(why, v);
    why += '}';
  }
  why += ']';

  uint64_t window_start = g.first;
  if (monotone_[c]) {
    window_start = time;
    if (!g.entries.empty()) window_start = g.entries.front().time;
    for (uint64_t s : g.seen)
      if (s && s < window_start && s + corr.timespan >= time) window_start = s;
    if (!g.bases.empty()) window_start = std::min(window_start, g.bases.front().time);
  }
  std::string& cj = d.correlation_json;
  cj = "{\"type\":";
  append_json_string(cj, correlation_type_name(corr.type));
  cj += ",\"window_start\":\"";
  append_filetime_iso(cj, window_start);
  cj += "\",\"window_end\":\"";
  append_filetime_iso(cj, monotone_[c] ? time : g.first + corr.timespan);
  cj += fmt::format("\",\"timespan_seconds\":{},\"group\":{{", corr.timespan / kSecond);
  for (size_t i = 0; i < g.values.size(); ++i) {
    if (i) cj += ',';
    append_json_string(cj, g.values[i].first);
    cj += ':';
    append_json_string(cj, g.values[i].second);
  }
  cj += "},\"metric\":";
  append_json_string(cj, metric);
  cj += ",\"value\":" + number_text(value) + ",\"condition\":";
  append_json_string(cj, cond);
  if (!corr.field.empty()) {
    cj += ",\"field\":";
    append_json_string(cj, corr.field);
  }
  cj += fmt::format(",\"events\":{},\"base\":[", g.count);
  for (size_t i = 0; i < g.bases.size(); ++i) {
    const BaseRef& b = g.bases[i];
    const Rule& r = rules_[b.rule];
    if (i) cj += ',';
    cj += "{\"rule_id\":";
    append_json_string(cj, r.id);
    cj += ",\"rule_title\":";
    append_json_string(cj, r.title);
    cj += ",\"timestamp\":\"";
    append_filetime_iso(cj, b.time);
    cj += "\",\"computer\":";
    append_json_string(cj, b.computer);
    cj += ",\"source\":";
    if (sources_ && b.source < sources_->size()) append_json_string(cj, (*sources_)[b.source]);
    else cj += std::to_string(b.source);
    cj += fmt::format(",\"record_id\":{}}}", b.record_id);
  }
  cj += "]}";
  ++stats_.fired;

  out.push_back(std::move(d));
  // Correlations of correlations: the new detection is an event for them.
  const Detection copy = out.back();
  feed_consumers(copy, out, depth + 1);
}

void CorrelationEngine::sweep(uint64_t now) {
  for (size_t c = 0; c < correlations_.size(); ++c) {
    if (!monotone_[c]) continue;  // tumbling windows leave at their close
    const uint64_t span = correlations_[c].timespan;
    auto& groups = states_[c]->groups;
    for (auto it = groups.begin(); it != groups.end();) {
      if (it->second.last + span < now) {
        stats_.entries_live -= it->second.entries.size();
        it = groups.erase(it);
        --stats_.groups_live;
        ++stats_.groups_dropped;
      } else {
        ++it;
      }
    }
  }
}

}  // namespace vigil::sigma
