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
                  "YAML file of extra field aliases (format of data/field_aliases.yaml); repeatable");
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
  return 2;
}
