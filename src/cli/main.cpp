// vigil: a thin command line over the sources -> event -> detection -> sinks libraries.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <malloc.h>

#include "cli/commands.hpp"

namespace {

constexpr const char* kExitStatus =
    "Exit status: 0 the command ran (whatever it found; problems with some inputs are reported on stderr);\n"
    "             1 no input could be read, an output could not be written, or cached rules could not be loaded;\n"
    "             2 bad usage (unknown option, format or value, --from after --to, no usable rule).";

void add_common(CLI::App* cmd, vigil::cli::CommonOptions& c) {
  cmd->add_option("--threads", c.threads, "Worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
  cmd->add_flag("-q,--quiet", c.quiet, "Print nothing on stderr but errors");
  cmd->add_option("--field-aliases", c.field_alias_files,
                  "YAML file of extra field aliases (format of data/field_aliases.yaml); repeatable")
      ->allow_extra_args(false);
}

}  // namespace

int main(int argc, char** argv) {
  // Memory a hunt frees (the buffer a database is read into, growing event
  // lists, rule-loading temporaries) is kept for its next allocations instead
  // of going back to the kernel: a fresh page costs a fault (3-11 µs on the
  // development VMs), and glibc otherwise maps every block over 128 KiB on
  // its own and unmaps it when freed. The peak stays what it was.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"Vigil: hunt for intruders in Windows event logs and JSON-lines exports"};
  app.footer(kExitStatus);
  app.require_subcommand(1);
  app.set_version_flag("--version", "vigil " VIGIL_VERSION);

  vigil::cli::DumpOptions dump;
  CLI::App* dump_cmd = app.add_subcommand("dump", "Decode records and print them as JSON or XML");
  dump_cmd->add_option("paths", dump.paths, "Files or directories (walked for .evtx, .json, .jsonl, .ndjson, Zeek .log, and their .gz)")
      ->required();
  dump_cmd->add_option("-f,--format", dump.format, "jsonl (default, one record per line), json (pretty) or xml")
      ->check(CLI::IsMember({"jsonl", "json", "xml"}));
  dump_cmd->add_option("-o,--output", dump.output, "Write to FILE instead of stdout");
  add_common(dump_cmd, dump.common);

  auto add_rule_options = [](CLI::App* cmd, vigil::cli::RuleOptions& r) {
    // One value per -r, so `-r rules/ evidence/` leaves evidence/ to the paths.
    cmd->add_option("-r,--rules", r.rule_paths,
                    "Sigma rule file or directory (repeat -r for more); default: the rule pack shipped with Vigil")
        ->allow_extra_args(false);
    cmd->add_option("--filters", r.filter_paths,
                    "Sigma filter file or directory (an organisation's exclusions, applied to the rules they name); "
                    "repeatable")
        ->allow_extra_args(false);
    cmd->add_option("--mapping", r.mapping, "Logsource mapping file (format of data/logsources.yaml)");
    cmd->add_option("--placeholders", r.placeholder_files,
                    "YAML map of placeholder name to values, for rules using |expand; repeatable")
        ->allow_extra_args(false);
    cmd->add_option("--cache-dir", r.cache_dir,
                    "Where compiled rules are cached (default: $VIGIL_CACHE_DIR, $XDG_CACHE_HOME/vigil or ~/.cache/vigil)");
    cmd->add_flag("--no-cache", r.no_cache, "Compile the rules afresh and do not write the cache");
  };

  vigil::cli::HuntOptions hunt;
  CLI::App* hunt_cmd = app.add_subcommand("hunt", "Apply Sigma rules to every event and show the detections");
  hunt_cmd->add_option("paths", hunt.paths, "Files or directories of evidence")->required();
  add_rule_options(hunt_cmd, hunt.rules);
  std::vector<std::string> formats, output_paths;
  CLI::Option* format_opt =
      hunt_cmd
          ->add_option("-f,--format", formats,
                       "Output format, repeatable, each followed by its -o: table (default: a timeline, and a summary on "
                       "stderr), jsonl, csv (Timesketch), html (a self-contained report), navigator (ATT&CK layer), sqlite (a "
                       "database; needs -o)")
          ->allow_extra_args(false)
          ->check(CLI::IsMember({"table", "jsonl", "csv", "html", "navigator", "sqlite"}));
  CLI::Option* output_opt =
      hunt_cmd->add_option("-o,--output", output_paths, "Write the preceding --format to FILE (one format may go to stdout)")
          ->allow_extra_args(false);
  hunt_cmd->add_option("--min-level", hunt.min_level, "Only rules of this level or higher")
      ->check(CLI::IsMember({"informational", "low", "medium", "high", "critical"}, CLI::ignore_case));
  hunt_cmd->add_option("--from", hunt.from, "Only events at or after this time (ISO 8601, UTC unless an offset is given)");
  hunt_cmd->add_option("--to", hunt.to, "Only events at or before this time (a bare date means the whole day)");
  hunt_cmd->add_option("--rule-status", hunt.rule_status, "Only rules of these statuses (stable, test, experimental...); repeatable")
      ->delimiter(',')
      ->allow_extra_args(false);
  hunt_cmd->add_option("--exclude-rule", hunt.exclude_rules, "Skip the rule with this id; repeatable")->allow_extra_args(false);
  hunt_cmd->add_option("--exclude-rules-file", hunt.exclude_rules_files, "Skip the rule ids listed in FILE (one per line, # comments)")
      ->allow_extra_args(false);
  hunt_cmd->add_option("--computer", hunt.computers, "Only events of this computer (case-insensitive, * wildcards); repeatable")
      ->allow_extra_args(false);
  hunt_cmd->add_option("--ioc", hunt.ioc_paths,
                       "Indicators to sweep for: STIX 2.1 bundle, MISP event or feed folder, or a list (one per line); "
                       "repeatable")
      ->allow_extra_args(false);
  hunt_cmd->add_flag("--ioc-ignore-validity", hunt.ioc_ignore_validity,
                     "Match indicators even at event times outside their validity window");
  hunt_cmd->add_flag("!--no-network", hunt.network,
                     "Do not run the network analytics (beacons, long connections, DNS tunnels, uploads, rare "
                     "signatures) on network events");
  hunt_cmd->add_flag("!--no-beacons", hunt.beacons, "Do not score beaconing");
  hunt_cmd->add_option("--beacon-min-score", hunt.beacon_min_score,
                       "Report source/destination pairs whose beacon score is at least this (default 0.9)")
      ->check(CLI::Range(0.0, 1.0));
  hunt_cmd->add_option("--network-config", hunt.network_config,
                       "Network analytics settings and thresholds (YAML; default: the built-in data/network.yaml)")
      ->check(CLI::ExistingFile);
  hunt_cmd->add_option("--internal-networks", hunt.internal_networks,
                       "Networks that are inside (CIDR,...; default 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "
                       "fc00::/7)");
  hunt_cmd->add_option("--allow-destination", hunt.allow_destinations,
                       "Known-good destination (CIDR, address or domain with its subdomains) the network analytics "
                       "never report; repeatable, or comma-separated")
      ->delimiter(',')
      ->allow_extra_args(false);
  hunt_cmd->add_flag("--dedup", hunt.dedup, "One line for identical detections (same rule, computer and event but for times and ids), with a count");
  hunt_cmd->add_flag("--explain", hunt.explain, "In the table, show which selections matched and the values that satisfied them");
  hunt_cmd->add_option("--progress", hunt.progress, "Progress on stderr: auto (a terminal and not --quiet), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_common(hunt_cmd, hunt.common);

  vigil::cli::RulesCheckOptions check;
  CLI::App* rules_cmd = app.add_subcommand("rules", "Work with rule packs");
  rules_cmd->require_subcommand(1);
  CLI::App* check_cmd = rules_cmd->add_subcommand("check", "List unusable rules and why; count usable ones");
  add_rule_options(check_cmd, check.rules);
  add_common(check_cmd, check.common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "vigil: error: {}\nRun 'vigil --help' (or 'vigil COMMAND --help') for usage.\n", e.what());
    return 2;
  }
  if (*dump_cmd) return vigil::cli::run_dump(dump);
  if (*hunt_cmd) {
    // Pair formats with outputs. As many -o as --format: in order. One fewer:
    // each -o belongs to the --format before it, and the one left goes to stdout.
    if (formats.empty()) formats.push_back("table");
    if (output_paths.size() == formats.size()) {
      for (size_t i = 0; i < formats.size(); ++i) hunt.outputs.push_back({formats[i], output_paths[i]});
    } else if (output_paths.size() + 1 == formats.size()) {
      size_t f = 0, p = 0;
      int current = -1;
      std::vector<std::string> paired(formats.size());
      std::vector<bool> has(formats.size(), false);
      for (const CLI::Option* opt : hunt_cmd->parse_order()) {
        if (opt == format_opt) {
          current = static_cast<int>(f++);
        } else if (opt == output_opt) {
          if (current < 0 || has[size_t(current)]) {
            fmt::print(stderr, "vigil: error: -o {} does not follow a --format of its own\n", output_paths[p]);
            return 2;
          }
          has[size_t(current)] = true;
          paired[size_t(current)] = output_paths[p++];
        }
      }
      for (size_t i = 0; i < formats.size(); ++i) hunt.outputs.push_back({formats[i], paired[i]});
    } else {
      fmt::print(stderr, "vigil: error: {} formats but {} outputs: give each --format its -o (one may go to stdout)\n",
                 formats.size(), output_paths.size());
      return 2;
    }
    for (int i = 0; i < argc; ++i) {
      const std::string a = argv[i];
      if (i) hunt.command_line += ' ';
      hunt.command_line += a.find_first_of(" \t'\"") == std::string::npos ? a : "'" + a + "'";
    }
    return vigil::cli::run_hunt(hunt);
  }
  if (*check_cmd) return vigil::cli::run_rules_check(check);
  return 2;
}
