#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "cli/commands.hpp"
#include "cli/input_set.hpp"
#include "cli/progress.hpp"
#include "cli/rules.hpp"
#include "detection/detection.hpp"
#include "detection/ioc/indicator.hpp"
#include "detection/ioc/indicator_rule.hpp"
#include "detection/ioc/matcher.hpp"
#include "detection/network/analytics.hpp"
#include "detection/network/network_detection.hpp"
#include "detection/sigma/condition.hpp"
#include "detection/stories.hpp"
#include "event/event_list.hpp"
#include "event/text.hpp"
#include "event/time.hpp"
#include "sinks/dedup.hpp"
#include "sinks/detection_sorter.hpp"
#include "sinks/detection_writer.hpp"
#include "sinks/report.hpp"
#include "sinks/html_report.hpp"
#include "sinks/sinks.hpp"
#include "sinks/sqlite_sink.hpp"
#include "sources/pipeline.hpp"
#include "sources/read_ahead.hpp"

namespace vigil::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormats[] = {"table", "jsonl", "csv", "html", "navigator", "sqlite"};

struct UnitResult {
  std::vector<Detection> detections;
  uint64_t events = 0;
  EventList network_events;  // copies of the events the network analytics read, for the ordered pass
};

struct WorkerState {
  std::unique_ptr<sigma::Matcher> matcher;
  std::vector<uint32_t> hits;
  std::unique_ptr<ioc::IndicatorIndex::Scratch> ioc;
  std::vector<ioc::IndicatorHit> ioc_hits;
};

// Detections of indicators carry this bit and the indicator's index until the
// consumer gives each indicator that hit a rule of its own.
constexpr uint32_t kIndicatorBit = 0x80000000u;
// The most events (as kept by EventList) read ahead while the rules load:
// ~35,000 Windows events at ~900 bytes each. A warm start of every SigmaHQ
// rule leaves time for about 8,000 (all of evtx-attack-samples).
constexpr size_t kReadAheadBytes = size_t(32) << 20;

// Loads every --ioc path; indicators' AND groups are renumbered so that groups
// of different files never meet. False after an error message when nothing
// usable came out of a path the user named.
bool load_all_indicators(const HuntOptions& o, std::vector<ioc::Indicator>& out) {
  uint32_t group_base = 0;
  for (const auto& path : o.ioc_paths) {
    ioc::IndicatorFile f = ioc::load_indicators(path);
    for (const auto& p : f.problems)
      if (!p.warning || !o.common.quiet)
        fmt::print(stderr, "vigil: {}: indicators: {}\n", p.warning ? "warning" : "error", p.to_string());
    if (f.indicators.empty() && !f.problems.empty() && !std::filesystem::exists(path)) return false;
    uint32_t max_group = 0;
    for (auto& ind : f.indicators) {
      max_group = std::max(max_group, ind.group);
      ind.group += group_base;
    }
    group_base += max_group + 1;
    out.insert(out.end(), std::make_move_iterator(f.indicators.begin()), std::make_move_iterator(f.indicators.end()));
  }
  return true;
}


void report_rule_problems(const sigma::RuleSet& rules, bool quiet) {
  for (const auto& p : rules.problems()) {
    if (p.warning && quiet) continue;
    fmt::print(stderr, "vigil: {}: {}\n", p.warning ? "warning: rule" : "warning: rule skipped", p.to_string());
  }
}

// What the hunt keeps: rules by level, status and id; events by time and computer.
struct Filters {
  std::vector<uint8_t> rule_enabled;  // by rule index
  bool window = false;
  uint64_t from = 0, to = UINT64_MAX;
  std::vector<std::string> computers;  // lower-case, `*` globs
  std::vector<std::string> described;  // for the run information
  bool has_min_level = false;
  sigma::Level min_level = sigma::Level::Informational;
  bool min_level_ok(sigma::Level l) const { return !has_min_level || l >= min_level; }

  bool keep_event(const Event& ev) const {
    if (window && (ev.time == 0 || ev.time < from || ev.time > to)) return false;
    if (!computers.empty()) {
      static const NameId kComputer = intern("Computer");
      std::string name;
      if (const Value* v = ev.get(kComputer)) append_text(name, *v);
      name = ascii_lower(name);
      for (const auto& c : computers)
        if (sigma::identifier_matches(c, name)) return true;
      return false;
    }
    return true;
  }
};

// A time bound from the command line: ISO 8601, or a bare date (the whole day
// for --to).
bool parse_bound(const std::string& text, bool end_of_day, uint64_t& out) {
  if (auto t = parse_iso_time(text)) {
    out = *t;
    if (end_of_day && text.size() == 10) out += 24ull * 3600 * 10'000'000 - 1;
    return true;
  }
  return false;
}

// Checks the options that need no rules or input; false after a message.
bool check_time_window(const HuntOptions& o, Filters& f) {
  if (!o.from.empty()) {
    if (!parse_bound(o.from, false, f.from)) {
      fmt::print(stderr, "vigil: error: --from '{}' is not a time (use ISO 8601, e.g. 2024-05-01T08:00:00Z)\n", o.from);
      return false;
    }
    f.window = true;
    f.described.push_back("from: " + o.from);
  }
  if (!o.to.empty()) {
    if (!parse_bound(o.to, true, f.to)) {
      fmt::print(stderr, "vigil: error: --to '{}' is not a time (use ISO 8601, e.g. 2024-05-02T18:00:00Z)\n", o.to);
      return false;
    }
    f.window = true;
    f.described.push_back("to: " + o.to);
  }
  if (f.from > f.to) {
    fmt::print(stderr, "vigil: error: --from {} is after --to {}\n", o.from, o.to);
    return false;
  }
  for (const auto& c : o.computers) f.computers.push_back(ascii_lower(c));
  if (!o.computers.empty()) {
    std::string list;
    for (const auto& c : o.computers) list += (list.empty() ? "" : ", ") + c;
    f.described.push_back("computer: " + list);
  }
  return true;
}

bool select_rules(const HuntOptions& o, const sigma::RuleSet& rules, Filters& f) {
  const size_t count = rules.rule_count();
  f.rule_enabled.assign(count, 1);
  // Status and ids are in each rule's texts: a set from the cache reads them all at once.
  if (!o.rule_status.empty() || !o.exclude_rules.empty() || !o.exclude_rules_files.empty()) rules.make_all_rules();
  if (!o.min_level.empty()) {
    sigma::Level min;
    if (!sigma::parse_level(o.min_level, min)) {
      fmt::print(stderr, "vigil: error: --min-level '{}' is not a level (informational, low, medium, high, critical)\n",
                 o.min_level);
      return false;
    }
    for (size_t i = 0; i < count; ++i)
      if (rules.rule_level(i) < min) f.rule_enabled[i] = 0;
    f.has_min_level = true;
    f.min_level = min;
    f.described.push_back(std::string("min-level: ") + sigma::level_name(min));
  }
  if (!o.rule_status.empty()) {
    std::set<std::string> statuses;
    for (const auto& s : o.rule_status) statuses.insert(ascii_lower(s));
    for (size_t i = 0; i < count; ++i)
      if (!statuses.count(ascii_lower(rules.rule(i).status))) f.rule_enabled[i] = 0;
    std::string list;
    for (const auto& s : statuses) list += (list.empty() ? "" : ", ") + s;
    f.described.push_back("rule-status: " + list);
  }
  std::vector<std::string> excluded = o.exclude_rules;
  for (const auto& file : o.exclude_rules_files) {
    std::ifstream in(file);
    if (!in) {
      fmt::print(stderr, "vigil: error: --exclude-rules-file {}: {}\n", file, std::strerror(errno));
      return false;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      const size_t b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos) continue;
      const size_t e = line.find_last_not_of(" \t\r");
      excluded.push_back(line.substr(b, e - b + 1));
    }
  }
  if (!excluded.empty()) {
    std::set<std::string> ids;
    for (const auto& id : excluded) ids.insert(ascii_lower(id));
    std::set<std::string> seen;
    for (size_t i = 0; i < count; ++i)
      if (ids.count(ascii_lower(rules.rule(i).id))) {
        f.rule_enabled[i] = 0;
        seen.insert(ascii_lower(rules.rule(i).id));
      }
    for (const auto& id : ids)
      if (!seen.count(id) && !o.common.quiet)
        fmt::print(stderr, "vigil: warning: excluded rule {} is not among the loaded rules\n", id);
    f.described.push_back(fmt::format("excluded rules: {}", ids.size()));
  }
  return true;
}

// An output opened before any scanning, so a bad path is refused at once.
struct Output {
  OutputSpec spec;
  std::FILE* file = nullptr;
  std::unique_ptr<DetectionSink> sink;
  ~Output() {
    if (file && file != stdout) std::fclose(file);
  }
};

std::unique_ptr<DetectionSink> make_sink(const Output& o, const DetectionContext& ctx, const HuntOptions& opts);

// Opens every output and makes its sink, before rules are loaded or evidence
// read, so a bad path costs nothing. `ctx` is filled in later (sinks keep a
// reference). 0 when all are open; else the exit status (2 bad use, 1 unwritable).
int open_outputs(const std::vector<OutputSpec>& specs, const DetectionContext& ctx, const HuntOptions& opts,
                 std::vector<std::unique_ptr<Output>>& outputs) {
  std::set<std::string> paths;
  for (const auto& spec : specs) {
    if (std::find(std::begin(kFormats), std::end(kFormats), spec.format) == std::end(kFormats)) {
      fmt::print(stderr, "vigil: error: unknown format '{}' (use table, jsonl, csv, html, navigator or sqlite)\n",
                 spec.format);
      return 2;
    }
    const bool to_stdout = spec.path.empty() || spec.path == "-";
    if (!paths.insert(to_stdout ? "-" : fs::absolute(spec.path).lexically_normal().string()).second) {
      fmt::print(stderr, "vigil: error: two outputs go to {}\n", to_stdout ? "stdout" : spec.path);
      return 2;
    }
    auto out = std::make_unique<Output>();
    out->spec = spec;
    if (spec.format == "sqlite") {
      if (to_stdout) {
        fmt::print(stderr, "vigil: error: the sqlite format needs a file: -f sqlite -o FILE\n");
        return 2;
      }
      std::string error;
      out->sink = make_sqlite_sink(spec.path, ctx, &error);
      if (!out->sink) {
        fmt::print(stderr, "vigil: error: {}\n", error);
        return 1;
      }
    } else {
      out->file = open_output(spec.path);
      if (!out->file) return 1;
      out->sink = make_sink(*out, ctx, opts);
    }
    outputs.push_back(std::move(out));
  }
  return 0;
}

std::unique_ptr<DetectionSink> make_sink(const Output& o, const DetectionContext& ctx, const HuntOptions& opts) {
  const std::string& f = o.spec.format;
  if (f == "table") {
    TableOptions t;
    t.color = o.file == stdout && isatty(fileno(stdout));
    t.explain = opts.explain;
    return make_table_sink(o.file, ctx, t);
  }
  if (f == "jsonl") return make_jsonl_sink(o.file, ctx);
  if (f == "csv") return make_csv_sink(o.file, ctx);
  if (f == "html") return make_html_sink(o.file, ctx);
  if (f == "navigator") return make_navigator_sink(o.file, ctx);
  return nullptr;
}

uint64_t now_filetime() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count()) * 10 +
         uint64_t(kFiletimeUnixEpoch);
}

// The network analytics' settings: the file given (or the built-in one), then
// the command line's internal networks and known-good destinations.
bool load_network_config(const HuntOptions& o, NetworkConfig& config) {
  std::string error;
  if (o.network_config.empty()) {
    config = NetworkConfig::builtin();
  } else if (!config.load_file(o.network_config, &error)) {
    fmt::print(stderr, "vigil: error: network configuration: {}\n", error);
    return false;
  }
  if (!o.internal_networks.empty() && !config.scope.set_internal(o.internal_networks, &error)) {
    fmt::print(stderr, "vigil: error: --internal-networks: {}\n", error);
    return false;
  }
  for (const std::string& a : o.allow_destinations)
    if (!config.scope.allow(a, &error)) {
      fmt::print(stderr, "vigil: error: --allow-destination: {}\n", error);
      return false;
    }
  if (o.beacon_min_score >= 0) config.beacon.min_score = o.beacon_min_score;
  return true;
}

}  // namespace

int run_hunt(const HuntOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  HuntSummary summary;
  summary.run.version = VIGIL_VERSION;
  summary.run.command = o.command_line;
  summary.run.started = now_filetime();
  summary.run.threads = resolve_threads(o.common.threads);
  summary.run.inputs = o.paths;

  // Everything that can be refused is checked before the hunt proper; only
  // the read-ahead below may decode evidence meanwhile (dropped on a refusal).
  Filters filters;
  if (!check_time_window(o, filters)) return 2;
  auto map = load_field_map(o.common);
  if (!map) return 2;
  // The inputs are listed before the rest starts up, so that with two threads
  // or more their first chunks are decoded meanwhile (ReadAhead); their
  // problems are reported after the rules', as always.
  Problems expand_problems;
  InputQueue queue(expand_inputs(o.paths, expand_problems));
  std::optional<ReadAhead> read_ahead;
  if (summary.run.threads > 1) read_ahead.emplace(queue, map, kReadAheadBytes);
  NetworkConfig network_config;
  if (!load_network_config(o, network_config)) return 2;
  const bool network_on = o.network;
  std::vector<OutputSpec> specs = o.outputs;
  if (specs.empty()) specs.push_back({"table", ""});
  std::vector<std::unique_ptr<Output>> outputs;
  DetectionContext dctx{nullptr, nullptr};
  if (const int status = open_outputs(specs, dctx, o, outputs)) return status;

  auto rules = load_rules(o.rules, o.common.threads);
  if (!rules) return 2;
  report_rule_problems(*rules, o.common.quiet);
  std::vector<ioc::Indicator> indicator_list;
  if (!load_all_indicators(o, indicator_list)) return 2;
  const ioc::IndicatorIndex indicators(std::move(indicator_list));
  if (!indicators.error().empty())
    fmt::print(stderr, "vigil: warning: indicators: command-line substrings: {}\n", indicators.error());
  // Indicators alone make a hunt (e.g. `-r` on an empty folder with --ioc);
  // the network analytics alone do not: no rule at all is more likely a wrong
  // `-r` than a wish, and on host logs it would quietly find nothing.
  if (rules->rule_count() == 0 && indicators.empty()) {
    fmt::print(stderr, "vigil: error: no usable rule{} was loaded\n", o.ioc_paths.empty() ? "" : " or indicator");
    return 2;
  }
  if (!select_rules(o, *rules, filters)) return 2;
  summary.rules_loaded = rules->rule_count();
  summary.run.rule_paths = o.rules.rule_paths.empty() ? std::vector<std::string>{default_rule_pack()} : o.rules.rule_paths;
  summary.run.filters = filters.described;

  for (const auto& p : expand_problems) {
    report(p, o.common.quiet);
    summary.unreadable.push_back({p.file, p.reason});
  }
  const std::vector<std::string>& sources = queue.files();
  const bool show_progress =
      o.progress == "always" || (o.progress == "auto" && !o.common.quiet && isatty(fileno(stderr)));
  uint64_t total_bytes = 0;  // only the progress line needs it: a stat per input
  if (show_progress)
    for (const auto& f : sources) {
      struct stat st;
      if (::stat(f.c_str(), &st) == 0) total_bytes += uint64_t(st.st_size);
    }

  // The rules the outputs see: the Sigma rules, then those made during the hunt
  // (one per indicator that hits, one per network finding) in added_rules;
  // one RuleTable shows both lists without copying the first.
  std::vector<sigma::Rule> added_rules;
  const RuleTable all_rules(rules.get(), &added_rules);
  std::unordered_map<uint32_t, uint32_t> indicator_rule_of;
  dctx.rules = all_rules;
  dctx.sources = &sources;

  Progress progress(show_progress, sources.size(), total_bytes);

  // Correlations see every detection of the rules they refer to, even rules a
  // filter or `generate: false` keeps out of the output.
  std::vector<sigma::RuleProblem> correlation_problems;
  if (!rules->correlations().empty()) rules->make_all_rules();  // the engine looks up every rule's id and name
  sigma::CorrelationEngine correlations(rules->correlations(), rules->correlation_rules(),
                                        RuleTable(rules.get(), nullptr), &correlation_problems);
  correlations.set_sources(&sources);
  for (const auto& p : correlation_problems)
    if (!o.common.quiet) fmt::print(stderr, "vigil: warning: rule: {}\n", p.to_string());
  std::vector<uint8_t> keep(filters.rule_enabled.size(), 0), visible(filters.rule_enabled.size(), 0);
  for (size_t i = 0; i < keep.size(); ++i) {
    visible[i] = filters.rule_enabled[i] && !correlations.hidden(uint32_t(i));
    keep[i] = visible[i];
  }
  for (size_t i = 0; i < keep.size(); ++i)
    if (correlations.consumed(uint32_t(i))) keep[i] = 1;

  DetectionSorter detections;
  HuntTally tally(dctx);
  StoryBuilder stories(all_rules, Attack::builtin());
  std::vector<uint8_t> file_read(sources.size(), 0);
  std::vector<std::string> file_error(sources.size());
  uint64_t events = 0, bytes_done = 0, files_done = 0;
  const sigma::RuleSet& rs = *rules;
  std::unique_ptr<NetworkAnalytics> network;
  if (network_on) network = std::make_unique<NetworkAnalytics>(network_config, NetworkAnalyticsOptions{o.beacons, true});
  if (read_ahead) read_ahead->stop();  // its units go back to the queue, first
  ReadAhead* read = read_ahead ? &*read_ahead : nullptr;
  using Pipeline = OrderedPipeline<UnitResult, WorkerState>;
  Pipeline::run(
      queue, summary.run.threads, map,
      [&filters, &keep, &indicators, &o, network_on, read](const UnitRef& u, ReadContext& ctx, WorkerState& st,
                                                           Problems& problems) {
        UnitResult r;
        auto on_event = [&](const Event& ev) {
          ++r.events;
          if (!filters.keep_event(ev)) return;
          st.hits.clear();
          st.matcher->match(ev, st.hits);
          bool described = false;
          Detection base;
          for (size_t i = 0; i < st.hits.size(); ++i) {
            const uint32_t rule = st.hits[i];
            if (!keep[rule]) continue;
            if (!described) {
              base.sequence = r.events;
              describe_event(ev, base);
              described = true;
            }
            Detection d = base;
            d.rule = rule;
            st.matcher->explain(i, d.explain_json);
            r.detections.push_back(std::move(d));
          }
          if (network_on && NetworkAnalytics::wants(ev)) r.network_events.add(ev);
          if (indicators.empty()) return;
          st.ioc_hits.clear();
          indicators.match(ev, o.ioc_ignore_validity, *st.ioc, st.ioc_hits);
          for (const ioc::IndicatorHit& hit : st.ioc_hits) {
            if (!described) {
              base.sequence = r.events;
              describe_event(ev, base);
              described = true;
            }
            Detection d = base;
            d.rule = kIndicatorBit | hit.indicator;
            d.explain_json = "[{\"selection\":\"indicator\",\"field\":";
            append_json_string(d.explain_json, name_text(hit.field));
            d.explain_json += ",\"value\":";
            append_json_string(d.explain_json, hit.value);
            d.explain_json += "}]";
            d.indicator_json = ioc::indicator_json(indicators.indicators()[hit.indicator]);
            r.detections.push_back(std::move(d));
          }
        };
        read_unit(read, u, ctx, on_event, problems);
        return r;
      },
      [&](const UnitRef& u, UnitResult&& r, Problems&& problems) {
        if (!problems.empty()) progress.clear();
        for (const auto& p : problems) {
          report(p, o.common.quiet);
          if (p.severity != Problem::Severity::Error) continue;
          for (size_t i = 0; i < sources.size(); ++i)  // rare: only on errors
            if (sources[i] == p.file && file_error[i].empty()) file_error[i] = p.reason;
        }
        if (u.input) {
          file_read[u.input->index()] = 1;
          const uint64_t units = std::max<size_t>(u.input->unit_count(), 1);
          bytes_done += u.input->size_bytes() / units;
          if (u.unit + 1 == units) {
            bytes_done += u.input->size_bytes() % units;
            ++files_done;
          }
        }
        if (network) {
          r.network_events.for_each([&](const Event& ev) { network->add(ev); });
          r.network_events = {};
        }
        for (auto& d : r.detections) {
          d.sequence += events;  // units arrive in order: the event's global, stable position
          if (d.rule & kIndicatorBit) {
            const uint32_t ind = d.rule & ~kIndicatorBit;
            auto [it, fresh] = indicator_rule_of.try_emplace(ind, uint32_t(all_rules.size()));
            if (fresh) {
              added_rules.push_back(ioc::indicator_rule(indicators.indicators()[ind]));
              visible.push_back(filters.min_level_ok(added_rules.back().level) ? 1 : 0);
            }
            d.rule = it->second;
          }
          if (visible[d.rule]) {
            tally.add(d);
            stories.add(d);
          }
          d.links = {};
          detections.add(std::move(d));
        }
        events += r.events;
        progress.update(files_done, bytes_done, events, detections.size());
      },
      [&rs, &indicators] {
        return WorkerState{std::make_unique<sigma::Matcher>(rs), {}, indicators.make_scratch(), {}};
      });
  progress.clear();

  // Network analytics: what they found joins the detections, each finding
  // under a rule of its own.
  if (network) {
    uint64_t seq = uint64_t(3) << 61;  // after detections of the same instant
    for (NetworkFinding& f : network->findings()) {
      const uint32_t rule = uint32_t(all_rules.size());
      added_rules.push_back(finding_rule(f, network_config.levels));
      visible.push_back(filters.min_level_ok(added_rules.back().level) ? 1 : 0);
      if (!visible[rule]) continue;
      Detection d = finding_detection(f, rule, ++seq);
      tally.add(d);
      stories.add(d);
      detections.add(std::move(d));
      summary.network.push_back(std::move(f));
    }
  }

  // The summary is complete before the first detection is written, so every
  // report can open with it.
  for (size_t i = 0; i < sources.size(); ++i)
    if (!file_read[i] && !file_error[i].empty()) summary.unreadable.push_back({sources[i], file_error[i]});
  summary.files_read = queue.opened();
  if (network) {
    summary.network_events = network->events_used();
    summary.internal_networks = network_config.scope.internal_text();
    summary.network_internal_seen = network->saw_internal_source();
  }
  summary.events = events;
  summary.bytes = bytes_done;

  // Correlations run over the detections in timeline order (so file order
  // never matters); what they find joins the visible detections, re-sorted.
  DetectionSorter correlated;
  DetectionSorter* final_detections = &detections;
  if (!correlations.empty()) {
    std::vector<Detection> found;
    auto take = [&](std::vector<Detection>& list) {
      for (Detection& x : list) {
        if (!filters.rule_enabled[x.rule] || correlations.hidden(x.rule)) continue;
        tally.add(x);
        stories.add(x);
        correlated.add(std::move(x));
      }
      list.clear();
    };
    const bool ok = detections.drain([&](Detection& d) {
      correlations.add(d, found);
      take(found);
      if (visible[d.rule]) correlated.add(std::move(d));
    });
    correlations.finish(found);
    take(found);
    if (!ok) fmt::print(stderr, "vigil: error: temporary files for sorting detections failed; output is incomplete\n");
    final_detections = &correlated;
  }
  tally.fill(summary);
  summary.stories = stories.build();
  summary.reported = summary.detections;

  bool sort_failed = false;
  auto emit_all = [&](const Detection& d) {
    for (auto& out : outputs) out->sink->write(d);
  };
  if (o.dedup) {
    Deduplicator dedup;
    sort_failed = !final_detections->drain([&](Detection& d) {
      d.story = stories.story_of(d.sequence);
      dedup.add(std::move(d));
    });
    summary.reported = dedup.size();
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& out : outputs) out->sink->begin(summary);
    for (const Detection& d : dedup.detections()) emit_all(d);
  } else {
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& out : outputs) out->sink->begin(summary);
    sort_failed = !final_detections->drain([&](Detection& d) {
      d.story = stories.story_of(d.sequence);
      emit_all(d);
    });
  }
  bool write_failed = false;
  for (auto& out : outputs) {
    if (!out->sink->finish(summary)) {
      fmt::print(stderr, "vigil: error: writing {} output to {} failed: {}\n", out->spec.format,
                 out->spec.path.empty() ? "stdout" : out->spec.path, out->sink->error());
      write_failed = true;
    }
  }
  if (sort_failed) fmt::print(stderr, "vigil: error: temporary files for sorting detections failed; output is incomplete\n");
  // Cached rule databases are deserialised at their first use: one found
  // damaged then was compiled again from its source; one that could not be
  // left its rules' literals unseen. The rules' other pieces are read from
  // the cache file at first use too: one that could not be (the file was cut
  // or rewritten since it was loaded) left its rule unmatched.
  const size_t dbs_failed = rs.prefilter().failed_count(), pieces_failed = rs.pieces_failed();
  if (dbs_failed)
    fmt::print(stderr,
               "vigil: error: {} compiled rule databases from the cache could not be loaded; detections may be "
               "missing: run again with --no-cache\n",
               dbs_failed);
  else if (const size_t rebuilt = rs.prefilter().rebuilt_count(); rebuilt && !o.common.quiet)
    fmt::print(stderr, "vigil: warning: {} damaged compiled rule databases in the cache were compiled again\n",
               rebuilt);
  if (pieces_failed)
    fmt::print(stderr,
               "vigil: error: {} parts of the compiled rules could not be read from the cache file (it changed during "
               "the hunt); detections may be missing: run again\n",
               pieces_failed);

  if (!o.common.quiet) {
    const bool table = std::any_of(outputs.begin(), outputs.end(), [](const auto& x) { return x->spec.format == "table"; });
    if (table) {
      write_summary_text(stderr, summary, dctx, isatty(fileno(stderr)));
    } else {
      fmt::print(stderr, "vigil: {} detections ({} stories) from {} events in {} files ({} rules, {:.2f} s)\n",
                 summary.detections, summary.stories.size(), events, queue.opened(), rs.rule_count(),
                 summary.seconds);
      if (summary.network_events && !summary.network_internal_seen)
        fmt::print(stderr,
                   "vigil: note: no connection came from the internal networks ({}): nothing left them to analyse; "
                   "give --internal-networks for this data\n",
                   fmt::join(summary.internal_networks, ", "));
    }
  }
#ifndef VIGIL_SANITIZED
  // The rule set is tens of thousands of small objects (~7 ms to free one by
  // one with every SigmaHQ rule); the end of the process frees it at once.
  // Sanitizer builds free it, so their leak check still covers it.
  (void)rules.release();
#endif
  if (write_failed || sort_failed || dbs_failed || pieces_failed) return 1;
  if (queue.opened() == 0) {
    fmt::print(stderr, "vigil: error: no input could be read\n");
    return 1;
  }
  return 0;
}

int run_rules_check(const RulesCheckOptions& o) {
  auto rules = load_rules(o.rules, o.common.threads);
  if (!rules) return 2;
  size_t refused = 0, warnings = 0;
  for (const auto& p : rules->problems()) {
    if (p.warning) {
      ++warnings;
      if (!o.common.quiet) fmt::print("warning  {}\n", p.to_string());
    } else {
      ++refused;
      fmt::print("refused  {}\n", p.to_string());
    }
  }
  std::map<std::string, size_t> per_logsource;
  rules->make_all_rules();
  for (size_t i = 0; i < rules->rule_count(); ++i) {
    const sigma::Rule& r = rules->rule(i);
    std::string key = r.logsource.product.empty() ? "*" : r.logsource.product;
    key += "/" + (r.logsource.category.empty() ? std::string("*") : r.logsource.category);
    key += "/" + (r.logsource.service.empty() ? std::string("*") : r.logsource.service);
    ++per_logsource[key];
  }
  std::vector<std::pair<std::string, size_t>> rows(per_logsource.begin(), per_logsource.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  fmt::print("\nusable rules per logsource (product/category/service):\n");
  for (const auto& [k, n] : rows) fmt::print("{:>7}  {}\n", n, k);
  fmt::print("\n{} usable, {} refused, {} with warnings\n", rules->rule_count(), refused, warnings);
#ifndef VIGIL_SANITIZED
  (void)rules.release();  // freed with the process, as in run_hunt
#endif
  return refused ? 1 : 0;
}

}  // namespace vigil::cli
