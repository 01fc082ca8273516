// vigil: a thin command line over the sources -> event -> detection -> sinks libraries.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"

namespace {

constexpr const char* kExitStatus =
    "Exit status: 0 the command ran (problems with some inputs are reported on stderr);\n"
    "             1 no input could be read, or output could not be written;\n"
    "             2 bad usage (unknown option, bad value).";

void add_common(CLI::App* cmd, vigil::cli::CommonOptions& c) {
  cmd->add_option("--threads", c.threads, "Worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
  cmd->add_flag("-q,--quiet", c.quiet, "Print nothing on stderr but errors");
  cmd->add_option("--field-aliases", c.field_alias_files,
                  "YAML file of extra field aliases (format of data/field_aliases.yaml); repeatable")
      ->allow_extra_args(false);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Vigil: hunt for intruders in Windows event logs and JSON-lines exports"};
  app.footer(kExitStatus);
  app.require_subcommand(1);
  app.set_version_flag("--version", "vigil 0.1.0");

  vigil::cli::DumpOptions dump;
  CLI::App* dump_cmd = app.add_subcommand("dump", "Decode records and print them as JSON or XML");
  dump_cmd->add_option("paths", dump.paths, "Files or directories (walked for .evtx, .json, .jsonl, .ndjson, .gz)")
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
  hunt_cmd->add_option("-f,--format", hunt.format, "table (default, a timeline) or jsonl (one detection per line)")
      ->check(CLI::IsMember({"table", "jsonl"}));
  hunt_cmd->add_option("-o,--output", hunt.output, "Write to FILE instead of stdout");
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
  if (*hunt_cmd) return vigil::cli::run_hunt(hunt);
  if (*check_cmd) return vigil::cli::run_rules_check(check);
  return 2;
}
