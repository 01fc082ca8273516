// Sigma correlation rules (specification 2.1): event_count, value_count,
// temporal, temporal_ordered, value_sum, value_avg and value_percentile, with
// group-by, timespan, conditions, aliases, generate and chaining.
//
// The engine is fed detections in timeline order (the hunt's sorted stream), so
// results never depend on the order of input files; the detections of one
// instant are taken in an order of their content, and temporal_ordered counts
// events of one instant as in order whichever comes first. Windows:
//  - a condition with only lower bounds (gt, gte) on a count, a distinct count, a
//    sum, or the rules seen (temporal) grows as events arrive, so it is tested on
//    a sliding window (events at most `timespan` apart, both edges included) as
//    each event arrives, and fires at that event's time;
//  - any other condition (lt, lte, eq, neq, ranges) and the value_avg and
//    value_percentile types can only be judged once the window is over: the
//    window opens at a group's first event and is judged when it closes
//    (`timespan` later), firing at the close time.
// After firing, a group starts afresh. State is kept per group and dropped
// once its window has passed, so memory is bounded by the groups active within
// one timespan and the events inside it (base references kept per group are
// capped at kMaxBaseRefs; counts stay exact).
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "detection/detection.hpp"
#include "detection/rule_table.hpp"
#include "detection/sigma/rule.hpp"

namespace vigil::sigma {

enum class CorrelationType : uint8_t {
  EventCount,
  ValueCount,
  Temporal,
  TemporalOrdered,
  ValueSum,
  ValueAvg,
  ValuePercentile
};
const char* correlation_type_name(CorrelationType t);

struct Bound {
  enum class Op : uint8_t { Gt, Gte, Lt, Lte, Eq, Neq };
  Op op;
  double value;
  bool holds(double x) const;
};

struct Correlation {
  Rule meta;  // title, id, name, level, status, tags... (no logsource or detection)
  CorrelationType type = CorrelationType::EventCount;
  std::vector<std::string> rules;     // referenced rule ids or names, as written
  std::vector<std::string> group_by;  // field names or aliases
  uint64_t timespan = 0;              // FILETIME ticks
  std::vector<Bound> condition;       // all must hold; empty for temporal: every rule
  std::string field;                  // value_count / value_sum / value_avg / value_percentile
  std::map<std::string, std::map<std::string, std::string>> aliases;  // alias -> rule name -> field
  bool generate = false;
};

// Parses one `correlation:` document. False with the key at fault and why.
bool parse_correlation(const YAML::Node& doc, Correlation& out, std::string* field, std::string* error);

// "30s", "5m", "1h", "7d" in FILETIME ticks; false when not that form.
bool parse_timespan(const std::string& text, uint64_t& ticks);

struct CorrelationStats {
  uint64_t groups_live = 0, groups_peak = 0;    // groups holding state
  uint64_t entries_live = 0, entries_peak = 0;  // events held in windows
  uint64_t groups_dropped = 0;                  // groups whose window passed
  uint64_t fired = 0;
};

class CorrelationEngine {
 public:
  static constexpr size_t kMaxBaseRefs = 100;

  // `rules` holds every rule by index, the correlations' own meta rules
  // included (`meta_index[i]` is correlations[i]'s); it must outlive the
  // engine. References that name no rule are reported as warnings in
  // `problems`.
  CorrelationEngine(std::vector<Correlation> correlations, std::vector<uint32_t> meta_index, RuleTable rules,
                    std::vector<RuleProblem>* problems);
  ~CorrelationEngine();

  bool empty() const { return correlations_.empty(); }
  // A rule whose own detections are not reported: every correlation that refers
  // to it has `generate: false` (the specification's default).
  bool hidden(uint32_t rule) const { return rule < hidden_.size() && hidden_[rule]; }
  // A rule some correlation refers to: its detections must reach the engine.
  bool consumed(uint32_t rule) const { return consumers_.count(rule) != 0; }
  // The correlation behind a meta rule, or nullptr.
  const Correlation* correlation_of(uint32_t rule) const;
  // Input paths by index, to name the files of base events in reports.
  void set_sources(const std::vector<std::string>* sources) { sources_ = sources; }

  // Feeds one detection, in timeline order. The detections of one instant
  // are taken together once a later one arrives (or at finish()), in an order
  // of their own (by content, not by position in the input), so that results
  // never depend on the order of the input even among events of the same
  // time; before them, the windows that closed earlier are judged. Appends
  // every correlation detection this produces (chains included), in timeline
  // order. Detections without a time take no part.
  void add(const Detection& d, std::vector<Detection>& out);
  // End of input: takes the last instant's detections, then judges the
  // windows still open.
  void finish(std::vector<Detection>& out);

  const CorrelationStats& stats() const { return stats_; }

 private:
  struct Group;
  struct State;
  void close_until(uint64_t time, bool inclusive, std::vector<Detection>& out);
  void flush(std::vector<Detection>& out);
  void feed(size_t c, const Detection& d, std::vector<Detection>& out, int depth);
  void feed_consumers(const Detection& d, std::vector<Detection>& out, int depth);
  void emit(size_t c, Group& g, const std::string& key, uint64_t time, double value, const std::string& value_label,
            const std::string* extra_field_value, std::vector<Detection>& out, int depth);
  void judge_closed(size_t c, const std::string& key, std::vector<Detection>& out, int depth);
  void sweep(uint64_t now);
  std::string group_key(size_t c, const Detection& d, std::vector<std::pair<std::string, std::string>>& values);

  std::vector<Correlation> correlations_;
  std::vector<uint32_t> meta_index_;
  RuleTable rules_;
  std::vector<uint8_t> hidden_;
  std::vector<bool> monotone_;
  // rule index -> the correlations that refer to it; per correlation, rule
  // index -> its positions in the correlation's rules list.
  std::unordered_map<uint32_t, std::vector<size_t>> consumers_;
  std::vector<std::unordered_map<uint32_t, std::vector<int>>> positions_;
  const std::vector<std::string>* sources_ = nullptr;
  uint64_t generations_ = 0;
  std::vector<std::unique_ptr<State>> states_;  // per correlation
  // Per correlation: (time, sequence) of the last event it counted. The
  // detections of one event (one per rule it matched) arrive one after the
  // other; the counting types take the event once.
  std::vector<std::pair<uint64_t, uint64_t>> last_event_;
  // Windows judged at their close: (close time, correlation, group key, group generation).
  struct Close {
    uint64_t time;
    size_t correlation;
    std::string key;
    uint64_t generation;
    bool operator>(const Close& o) const {
      if (time != o.time) return time > o.time;
      if (correlation != o.correlation) return correlation > o.correlation;
      return key > o.key;
    }
  };
  std::priority_queue<Close, std::vector<Close>, std::greater<Close>> closes_;
  CorrelationStats stats_;
  uint64_t sequence_ = 0;
  uint64_t adds_ = 0;
  std::vector<Detection> pending_;  // the detections of the current instant, not yet fed
};

}  // namespace vigil::sigma
