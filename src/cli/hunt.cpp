#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "cli/commands.hpp"
#include "cli/input_set.hpp"
#include "cli/rules.hpp"
#include "detection/detection.hpp"
#include "sinks/detection_sorter.hpp"
#include "sinks/detection_writer.hpp"
#include "sources/pipeline.hpp"

namespace vigil::cli {
namespace {

struct UnitResult {
  std::vector<Detection> detections;  // for the sorted timeline
  std::string text;                   // rendered JSON lines, when streaming
  uint64_t events = 0, count = 0;
};

void report_rule_problems(const sigma::RuleSet& rules, bool quiet) {
  for (const auto& p : rules.problems()) {
    if (p.warning && quiet) continue;
    fmt::print(stderr, "vigil: {}: {}\n", p.warning ? "warning: rule" : "warning: rule skipped", p.to_string());
  }
}

}  // namespace

int run_hunt(const HuntOptions& o) {
  if (o.format != "table" && o.format != "jsonl") {
    fmt::print(stderr, "vigil: error: unknown format '{}' (use table or jsonl)\n", o.format);
    return 2;
  }
  auto map = load_field_map(o.common);
  if (!map) return 2;
  const auto start = std::chrono::steady_clock::now();
  RuleOptions rule_options = o.rules;
  rule_options.threads = o.common.threads;
  auto rules = load_rules(rule_options);
  if (!rules) return 2;
  report_rule_problems(*rules, o.common.quiet);
  if (rules->rules().empty()) {
    fmt::print(stderr, "vigil: error: no usable rule was loaded\n");
    return 2;
  }

  std::FILE* out = open_output(o.output);
  if (!out) return 2;

  InputSet set = expand(o.paths, o.common.quiet);
  const std::vector<std::string>& sources = set.queue.files();

  // JSON lines stream out in input order (file by file, record by record),
  // rendered by the workers: a SIEM needs no time order, and memory stays flat.
  // The timeline is sorted by time, through the bounded-memory sorter.
  const bool stream = o.format == "jsonl";
  const DetectionContext dctx{&rules->rules(), &sources};
  DetectionSorter detections;
  uint64_t events = 0, total = 0;
  uint64_t unit_no = 0;
  bool write_failed = false;
  const sigma::RuleSet& rs = *rules;
  using Pipeline = OrderedPipeline<UnitResult, std::unique_ptr<sigma::Matcher>>;
  Pipeline::run(
      set.queue, resolve_threads(o.common.threads), map,
      [&rs, &dctx, stream](const UnitRef& u, ReadContext& ctx, std::unique_ptr<sigma::Matcher>& matcher,
                           Problems& problems) {
        UnitResult r;
        std::vector<uint32_t> hits;
        Detection d;
        u.input->read_unit(u.unit, ctx, [&](const Event& ev) {
          ++r.events;
          hits.clear();
          matcher->match(ev, hits);
          for (uint32_t rule : hits) {
            d.rule = rule;
            d.sequence = r.events;
            describe_event(ev, d);
            ++r.count;
            if (stream) {
              append_detection_json(r.text, d, dctx);
              r.text += '\n';
            } else {
              r.detections.push_back(d);
            }
          }
        }, problems);
        return r;
      },
      [&](const UnitRef&, UnitResult&& r, Problems&& problems) {
        for (const auto& p : problems) report(p, o.common.quiet);
        events += r.events;
        total += r.count;
        if (stream && !r.text.empty())
          write_failed |= std::fwrite(r.text.data(), 1, r.text.size(), out) != r.text.size();
        for (auto& d : r.detections) {
          d.sequence |= unit_no << 24;  // units arrive in order: a global, stable position
          detections.add(std::move(d));
        }
        ++unit_no;
      },
      [&rs] { return std::make_unique<sigma::Matcher>(rs); });

  bool sort_failed = false;
  if (!stream) {
    const bool color = out == stdout && isatty(fileno(stdout));
    sort_failed = !detections.drain([&](const Detection& d) { write_timeline_entry(out, d, dctx, color); });
  }
  if (std::fflush(out) != 0) write_failed = true;
  if (out != stdout) std::fclose(out);
  if (sort_failed) fmt::print(stderr, "vigil: error: temporary files for sorting detections failed; output is incomplete\n");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.common.quiet)
    fmt::print(stderr, "vigil: {} detections from {} events in {} files ({} rules, {:.2f} s)\n", total,
               events, set.queue.opened(), rs.rules().size(), secs);
  if (write_failed || sort_failed) {
    fmt::print(stderr, "vigil: error: writing output failed: {}\n", std::strerror(errno));
    return 1;
  }
  if (set.queue.opened() == 0) {
    fmt::print(stderr, "vigil: error: no input could be read\n");
    return 1;
  }
  return 0;
}

int run_rules_check(const RulesCheckOptions& o) {
  auto rules = load_rules(o.rules);
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
  for (const auto& r : rules->rules()) {
    std::string key = r.logsource.product.empty() ? "*" : r.logsource.product;
    key += "/" + (r.logsource.category.empty() ? std::string("*") : r.logsource.category);
    key += "/" + (r.logsource.service.empty() ? std::string("*") : r.logsource.service);
    ++per_logsource[key];
  }
  std::vector<std::pair<std::string, size_t>> rows(per_logsource.begin(), per_logsource.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  fmt::print("\nusable rules per logsource (product/category/service):\n");
  for (const auto& [k, n] : rows) fmt::print("{:>7}  {}\n", n, k);
  fmt::print("\n{} usable, {} refused, {} with warnings\n", rules->rules().size(), refused, warnings);
  return refused ? 1 : 0;
}

}  // namespace vigil::cli
