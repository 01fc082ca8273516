// The sqlite output: a hunt written through the sink, read back with the
// SQLite API, row by row.
#include "sinks/sqlite_sink.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "detection/stories.hpp"
#include "event/time.hpp"
#include "sinks/report.hpp"
#include "test_support.hpp"

namespace vigil {
namespace {

using Cell = std::optional<std::string>;  // nullopt: SQL NULL
using Row = std::vector<Cell>;

// A database opened read-only, with a query helper returning every cell as
// its exact bytes (integers as decimal text).
class Db {
 public:
  explicit Db(const std::filesystem::path& p) {
    rc_ = sqlite3_open_v2(p.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  }
  ~Db() { sqlite3_close(db_); }
  bool ok() const { return rc_ == SQLITE_OK; }

  std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<Row> rows;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "prepare failed: " << sqlite3_errmsg(db_) << "\n  " << sql;
      return rows;
    }
    for (size_t i = 0; i < params.size(); ++i)
      sqlite3_bind_text(st, int(i + 1), params[i].data(), int(params[i].size()), SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      Row row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
          row.push_back(std::nullopt);
        } else {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
          row.push_back(std::string(p, size_t(sqlite3_column_bytes(st, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_) << "\n  " << sql;
    sqlite3_finalize(st);
    return rows;
  }
  // The single value of a one-row, one-column query.
  Cell value(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto rows = query(sql, params);
    if (rows.size() != 1 || rows[0].size() != 1) {
      ADD_FAILURE() << "expected one value from: " << sql << " (got " << rows.size() << " rows)";
      return std::nullopt;
    }
    return rows[0][0];
  }
  int64_t count(const std::string& table) { return std::stoll(value("SELECT count(*) FROM " + table).value()); }

 private:
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

uint64_t at(int hour, int minute, int second, uint64_t ticks = 0) {
  return filetime_from_civil(2026, 3, 10, hour, minute, second, ticks).value();
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

const std::string kHostile = std::string("Robert'); DROP TABLE detections;-- \"quoted\" ' \\ ") +
                             "\x01\x02\x7f\x80\xfe\xff bin \xc3\x28 end";

sigma::Rule make_rule(std::string id, std::string title, sigma::Level level, std::vector<std::string> tags) {
  sigma::Rule r;
  r.id = std::move(id);
  r.title = std::move(title);
  r.level = level;
  r.level_given = true;
  r.status = "test";
  r.description = "Detects things.";
  r.author = "Vigil tests";
  r.date = "2026-01-02";
  r.tags = std::move(tags);
  r.path = "rules/" + r.id + ".yml";
  return r;
}

// A small hunt: four rules (one never fires), detections on two computers,
// two rules firing on one event, a story built from them, an unreadable input.
struct Hunt {
  std::vector<sigma::Rule> rules;
  std::vector<std::string> sources;
  DetectionContext ctx;
  std::vector<Detection> detections;  // timeline order
  std::vector<Story> stories;
  HuntSummary summary;

  Hunt() : ctx{&rules, &sources} {
    rules.push_back(make_rule("0d894093-71bc-43c3-8c4a-ecfa28dcb7a4", "LSASS Memory Access", sigma::Level::High,
                              {"attack.credential-access", "attack.t1003.001"}));
    rules[0].references = {"https://attack.mitre.org/techniques/T1003/001/", "https://example.org/a\"b"};
    rules[0].falsepositives = {"Backup software", "Antivirus"};
    rules.push_back(make_rule("502b42de-4306-40b4-9596-6f590c81f073", "Local Account Discovery",
                              sigma::Level::Medium, {"attack.discovery", "attack.t1033"}));
    rules.push_back(make_rule("hostile-" + kHostile, "Title " + kHostile, sigma::Level::Critical,
                              {"attack.execution", kHostile}));
    rules[2].description = kHostile;
    rules.push_back(make_rule("never-fires", "Never Fires", sigma::Level::Low, {}));
    sources = {"/evidence/ws01/Security.evtx", "/evidence/dc01/sysmon.jsonl", "/evidence/broken.evtx"};

    auto det = [&](uint32_t rule, uint64_t time, uint64_t sequence, uint32_t source, std::string computer,
                   int64_t event_id, uint64_t record, std::string event_json, std::string explain,
                   std::vector<uint64_t> links) {
      Detection d;
      d.rule = rule;
      d.time = time;
      d.sequence = sequence;
      d.source = source;
      d.computer = std::move(computer);
      d.channel = source == 0 ? "Security" : "Microsoft-Windows-Sysmon/Operational";
      d.event_id = event_id;
      d.record_id = record;
      d.event_json = std::move(event_json);
      d.explain_json = std::move(explain);
      d.links = std::move(links);
      detections.push_back(std::move(d));
    };
    det(1, at(9, 13, 5, 7'710'000), 10, 0, "WS01.corp.local", 4688, 101,
        R"({"EventID":4688,"Computer":"WS01.corp.local","NewProcessName":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"})",
        R"([{"selection":"selection","field":"Image","value":"C:\\Windows\\System32\\whoami.exe"}])", {111});
    // Two rules on one event (same sequence): one events row.
    const std::string shared =
        R"({"EventID":10,"Computer":"WS01.corp.local","TargetImage":"C:\\Windows\\system32\\lsass.exe","GrantedAccess":"0x1010","Note":"é ü 東京"})";
    det(0, at(9, 14, 0), 11, 0, "WS01.corp.local", 10, 102, shared,
        R"([{"selection":"selection","field":"TargetImage","value":"C:\\Windows\\system32\\lsass.exe"},{"selection":"access","field":"GrantedAccess","value":"0x1010"}])",
        {111});
    det(1, at(9, 14, 0), 11, 0, "WS01.corp.local", 10, 102, shared,
        R"([{"selection":"keywords","field":"","value":null}])", {111});
    // The hostile one, on the other computer.
    std::string hostile_event = "{\"EventID\":1,\"CommandLine\":";
    append_json_string(hostile_event, kHostile);
    hostile_event += "}";
    det(2, at(9, 40, 0), 20, 1, "DC01 " + kHostile, 1, 7, hostile_event,
        R"([{"selection":"sel","field":"CommandLine","value":"'); DROP TABLE detections;--"}])", {});
    // Folded by --dedup: three identical detections.
    det(1, at(10, 0, 0), 21, 1, "DC01.corp.local", 1, 9, R"({"EventID":1,"CommandLine":"net user"})", "", {});
    detections.back().count = 3;
    detections.back().last_time = at(10, 5, 30);
    // No time, no event id: last in timeline order.
    det(1, 0, 30, 1, "DC01.corp.local", -1, 12, R"({"CommandLine":"whoami"})", "[]", {});

    for (size_t i = 1; i < detections.size(); ++i)
      EXPECT_FALSE(timeline_before(detections[i], detections[i - 1])) << "test data out of timeline order";

    StoryBuilder builder(rules, *ctx.attack);
    for (const auto& d : detections) builder.add(d);
    stories = builder.build();
    for (auto& d : detections) d.story = builder.story_of(d.sequence);

    HuntTally tally(ctx);
    for (const auto& d : detections) tally.add(d);
    tally.fill(summary);
    summary.run.version = "0.1.0";
    summary.run.command = "vigil hunt /evidence -o hunt.db --format sqlite --min-level low";
    summary.run.started = at(12, 0, 0);
    summary.run.threads = 2;
    summary.run.rule_paths = {"rules"};
    summary.run.inputs = {"/evidence"};
    summary.run.filters = {"min-level: low"};
    summary.rules_loaded = rules.size();
    summary.files_read = 2;
    summary.events = 12345;
    summary.bytes = 987654321;
    summary.seconds = 1.25;
    summary.reported = detections.size();
    summary.unreadable.push_back({"/evidence/broken.evtx", "not an EVTX file (bad signature)"});
    summary.stories = stories;
  }

  // Writes the whole hunt through a sink at `path`; true when finish succeeded.
  bool write(const std::filesystem::path& path, std::string* error) {
    auto sink = make_sqlite_sink(path.string(), ctx, error);
    if (!sink) return false;
    sink->begin(summary);
    for (const auto& d : detections) sink->write(d);
    const bool ok = sink->finish(summary);
    if (!ok) *error = sink->error();
    EXPECT_EQ(ok, sink->error().empty());
    return ok;
  }
};

TEST(SqliteSink, WritesEveryTable) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("hunt.db");
  std::string error;
  ASSERT_TRUE(h.write(path, &error)) << error;
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"hunt.db"}) << "temporary file left behind";

  Db db(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.value("PRAGMA user_version"), "1");
  EXPECT_EQ(db.value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.count("detections"), 6);
  EXPECT_EQ(db.count("events"), 5);  // the two detections of event 11 share one
  EXPECT_EQ(db.count("rules"), 3);   // "never-fires" did not
  EXPECT_EQ(db.count("stories"), int64_t(h.stories.size()));
  EXPECT_EQ(db.count("unreadable"), 1);
  EXPECT_EQ(db.count("run"), 1);

  // Ids follow the timeline.
  auto ids = db.query("SELECT id, record_id FROM detections ORDER BY id");
  ASSERT_EQ(ids.size(), 6u);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i][0], std::to_string(i + 1));
    EXPECT_EQ(ids[i][1], std::to_string(h.detections[i].record_id));
  }

  // The first detection, column by column.
  const Detection& d1 = h.detections[0];
  ASSERT_NE(d1.story, 0u);
  auto r = db.query(
      "SELECT time, time_ticks, rule_index, rule_id, rule_title, level, level_rank, computer, channel, event_id, "
      "record_id, source, story, count, last_time, matched, event_rowid FROM detections WHERE id = 1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "2026-03-10T09:13:05.771000Z");
  EXPECT_EQ(r[0][1], std::to_string(d1.time));
  EXPECT_EQ(r[0][2], "1");
  EXPECT_EQ(r[0][3], "502b42de-4306-40b4-9596-6f590c81f073");
  EXPECT_EQ(r[0][4], "Local Account Discovery");
  EXPECT_EQ(r[0][5], "medium");
  EXPECT_EQ(r[0][6], "2");
  EXPECT_EQ(r[0][7], "WS01.corp.local");
  EXPECT_EQ(r[0][8], "Security");
  EXPECT_EQ(r[0][9], "4688");
  EXPECT_EQ(r[0][10], "101");
  EXPECT_EQ(r[0][11], "/evidence/ws01/Security.evtx");
  EXPECT_EQ(r[0][12], std::to_string(d1.story));
  EXPECT_EQ(r[0][13], "1");
  EXPECT_EQ(r[0][14], std::nullopt);
  EXPECT_EQ(r[0][15], d1.explain_json);
  EXPECT_EQ(db.value("SELECT e.json FROM detections d JOIN events e ON e.rowid = d.event_rowid WHERE d.id = 1"),
            d1.event_json);
  // The explanation is queryable JSON.
  EXPECT_EQ(db.value("SELECT matched->>'$[0].field' FROM detections WHERE id = 1"), "Image");

  // Two rules, one event: one events row, byte-identical (non-ASCII included).
  auto shared = db.query("SELECT rule_title, event_rowid, matched FROM detections WHERE id IN (2, 3) ORDER BY id");
  ASSERT_EQ(shared.size(), 2u);
  EXPECT_EQ(shared[0][0], "LSASS Memory Access");
  EXPECT_EQ(shared[1][0], "Local Account Discovery");
  EXPECT_EQ(shared[0][1], shared[1][1]);
  EXPECT_EQ(shared[0][2], h.detections[1].explain_json);
  EXPECT_EQ(shared[1][2], h.detections[2].explain_json);
  EXPECT_EQ(db.value("SELECT json FROM events WHERE rowid = ?", {shared[0][1].value()}), h.detections[1].event_json);
  EXPECT_EQ(db.value("SELECT count(DISTINCT event_rowid) FROM detections"), "5");
  // Every event row is used, every detection points at one.
  EXPECT_EQ(db.value("SELECT count(*) FROM detections d LEFT JOIN events e ON e.rowid = d.event_rowid "
                     "WHERE e.rowid IS NULL"),
            "0");
  for (size_t i = 0; i < h.detections.size(); ++i)
    EXPECT_EQ(db.value("SELECT e.json FROM detections d JOIN events e ON e.rowid = d.event_rowid WHERE d.id = ?",
                       {std::to_string(i + 1)}),
              h.detections[i].event_json)
        << "detection " << i + 1;

  // Folded detection: count and last time; empty explanation is an empty array.
  r = db.query("SELECT count, last_time, matched, time FROM detections WHERE id = 5");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "3");
  EXPECT_EQ(r[0][1], "2026-03-10T10:05:30.000000Z");
  EXPECT_EQ(r[0][2], "[]");
  EXPECT_EQ(r[0][3], "2026-03-10T10:00:00.000000Z");

  // Unknown time and event id are NULL, not 0.
  r = db.query("SELECT time, time_ticks, event_id, typeof(time_ticks) FROM detections WHERE id = 6");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], std::nullopt);
  EXPECT_EQ(r[0][1], std::nullopt);
  EXPECT_EQ(r[0][2], std::nullopt);
  // Time ranges on ticks.
  EXPECT_EQ(db.value("SELECT count(*) FROM detections WHERE time_ticks BETWEEN ? AND ?",
                     {std::to_string(at(9, 0, 0)), std::to_string(at(9, 59, 59))}),
            "4");
  EXPECT_EQ(db.value("SELECT typeof(time_ticks) FROM detections WHERE id = 1"), "integer");
  EXPECT_EQ(db.value("SELECT count(*) FROM detections WHERE level_rank >= 3"), "2");

  // Rules: fired ones only, with metadata and the summary's counts.
  r = db.query(
      "SELECT rule_index, id, title, level, level_rank, status, description, author, date, tags, \"references\", "
      "falsepositives, path, detections, first, last FROM rules ORDER BY rule_index");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][0], "0");
  EXPECT_EQ(r[0][1], "0d894093-71bc-43c3-8c4a-ecfa28dcb7a4");
  EXPECT_EQ(r[0][2], "LSASS Memory Access");
  EXPECT_EQ(r[0][3], "high");
  EXPECT_EQ(r[0][4], "3");
  EXPECT_EQ(r[0][5], "test");
  EXPECT_EQ(r[0][6], "Detects things.");
  EXPECT_EQ(r[0][7], "Vigil tests");
  EXPECT_EQ(r[0][8], "2026-01-02");
  EXPECT_EQ(r[0][9], R"(["attack.credential-access","attack.t1003.001"])");
  EXPECT_EQ(r[0][10], R"(["https://attack.mitre.org/techniques/T1003/001/","https://example.org/a\"b"])");
  EXPECT_EQ(r[0][11], R"(["Backup software","Antivirus"])");
  EXPECT_EQ(r[0][12], "rules/0d894093-71bc-43c3-8c4a-ecfa28dcb7a4.yml");
  EXPECT_EQ(r[0][13], "1");
  EXPECT_EQ(r[0][14], "2026-03-10T09:14:00.000000Z");
  EXPECT_EQ(r[1][0], "1");
  EXPECT_EQ(r[1][13], "6");  // 1 + 1 + 3 (folded) + 1
  EXPECT_EQ(r[1][14], "2026-03-10T09:13:05.771000Z");
  EXPECT_EQ(r[1][15], "2026-03-10T10:05:30.000000Z");
  EXPECT_EQ(r[2][0], "2");
  EXPECT_EQ(r[2][2], "Title " + kHostile);
  EXPECT_EQ(db.value("SELECT count(*) FROM rules WHERE id = 'never-fires'"), "0");
  EXPECT_EQ(db.value("SELECT sum(detections) FROM rules"), std::to_string(h.summary.detections));
  // Detections join their rule.
  EXPECT_EQ(db.value("SELECT count(*) FROM detections d JOIN rules r USING (rule_index) WHERE r.id = d.rule_id"),
            "6");
  EXPECT_EQ(db.value("SELECT count(*) FROM rules, json_each(rules.tags) WHERE json_each.value = 'attack.t1033'"),
            "1");

  // Stories: the WS01 one holds the first three detections.
  const Story* ws = nullptr;
  for (const Story& s : h.stories)
    if (s.computer == "WS01.corp.local") ws = &s;
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->detections, 3u);
  r = db.query(
      "SELECT computer, first, last, level, level_rank, tactics, techniques, detections, rules FROM stories "
      "WHERE id = ?",
      {std::to_string(ws->id)});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "WS01.corp.local");
  EXPECT_EQ(r[0][1], "2026-03-10T09:13:05.771000Z");
  EXPECT_EQ(r[0][2], "2026-03-10T09:14:00.000000Z");
  EXPECT_EQ(r[0][3], "high");
  EXPECT_EQ(r[0][4], "3");
  EXPECT_EQ(r[0][5], R"(["Credential Access","Discovery"])");
  EXPECT_EQ(r[0][6], R"(["T1003.001","T1033"])");
  EXPECT_EQ(r[0][7], "3");
  EXPECT_EQ(r[0][8],
            R"([{"id":"502b42de-4306-40b4-9596-6f590c81f073","title":"Local Account Discovery","level":"medium","count":2},)"
            R"({"id":"0d894093-71bc-43c3-8c4a-ecfa28dcb7a4","title":"LSASS Memory Access","level":"high","count":1}])");
  EXPECT_EQ(db.value("SELECT count(*) FROM detections WHERE story = ?", {std::to_string(ws->id)}), "3");
  // Each story's columns agree with the shared JSON of a story.
  for (const Story& s : h.stories) {
    std::string json;
    append_story_json(json, s, h.ctx);
    auto row = db.query("SELECT computer, first, last, level, tactics, techniques, detections, rules FROM stories "
                        "WHERE id = ?",
                        {std::to_string(s.id)});
    ASSERT_EQ(row.size(), 1u) << "story " << s.id;
    auto j = db.query("SELECT ?->>'$.computer', ?->>'$.first', ?->>'$.last', ?->>'$.level', ?->'$.tactics', "
                      "?->'$.techniques', ?->>'$.detections', ?->'$.rules'",
                      {json, json, json, json, json, json, json, json});
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(row[0], j[0]) << "story " << s.id;
  }

  // The unreadable input.
  r = db.query("SELECT path, reason FROM unreadable");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "/evidence/broken.evtx");
  EXPECT_EQ(r[0][1], "not an EVTX file (bad signature)");

  // The run.
  r = db.query(
      "SELECT version, command, started, threads, rules_loaded, files_read, files_unreadable, events, bytes, "
      "seconds, detections, reported, filters, summary, rule_paths, inputs FROM run");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "0.1.0");
  EXPECT_EQ(r[0][1], h.summary.run.command);
  EXPECT_EQ(r[0][2], "2026-03-10T12:00:00.000000Z");
  EXPECT_EQ(r[0][3], "2");
  EXPECT_EQ(r[0][4], "4");
  EXPECT_EQ(r[0][5], "2");
  EXPECT_EQ(r[0][6], "1");
  EXPECT_EQ(r[0][7], "12345");
  EXPECT_EQ(r[0][8], "987654321");
  EXPECT_EQ(r[0][9], "1.25");
  EXPECT_EQ(r[0][10], "8");  // before --dedup folding
  EXPECT_EQ(r[0][11], "6");
  EXPECT_EQ(r[0][12], R"(["min-level: low"])");
  std::string summary_json;
  append_summary_json(summary_json, h.summary, h.ctx);
  EXPECT_EQ(r[0][13], summary_json);
  EXPECT_EQ(r[0][14], R"(["rules"])");
  EXPECT_EQ(r[0][15], R"(["/evidence"])");
  EXPECT_EQ(db.value("SELECT summary->>'$.unreadable[0].path' FROM run"), "/evidence/broken.evtx");

  // Indexes on the columns hunters filter by.
  std::map<std::string, std::string> index_columns;
  for (const auto& row : db.query("SELECT il.name, ii.name FROM pragma_index_list('detections') il, "
                                  "pragma_index_info(il.name) ii"))
    index_columns[row[0].value()] += row[1].value_or("?");
  std::set<std::string> indexed;
  for (const auto& [name, columns] : index_columns) indexed.insert(columns);
  for (const char* column : {"time_ticks", "rule_id", "computer", "story", "level_rank"})
    EXPECT_TRUE(indexed.count(column)) << "no index on detections(" << column << ")";
  EXPECT_EQ(db.value("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'detections'"), "5");
  // The planner uses them.
  std::string plan;
  for (const auto& row : db.query("EXPLAIN QUERY PLAN SELECT * FROM detections WHERE time_ticks > 0"))
    plan += row.back().value_or("");
  EXPECT_NE(plan.find("detections_time"), std::string::npos) << plan;
}

TEST(SqliteSink, StoresHostileTextVerbatim) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("hunt.db");
  std::string error;
  ASSERT_TRUE(h.write(path, &error)) << error;
  Db db(path);
  ASSERT_TRUE(db.ok());
  // The table named in the injection is still there, with all its rows.
  EXPECT_EQ(db.count("detections"), 6);
  auto r = db.query("SELECT rule_id, rule_title, computer, matched, level FROM detections WHERE id = 4");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], "hostile-" + kHostile);
  EXPECT_EQ(r[0][1], "Title " + kHostile);
  EXPECT_EQ(r[0][2], "DC01 " + kHostile);
  EXPECT_EQ(r[0][3], h.detections[3].explain_json);
  EXPECT_EQ(r[0][4], "critical");
  EXPECT_EQ(db.value("SELECT e.json FROM detections d JOIN events e ON e.rowid = d.event_rowid WHERE d.id = 4"),
            h.detections[3].event_json);
  EXPECT_EQ(db.value("SELECT description FROM rules WHERE rule_index = 2"), kHostile);
  std::string tags = "[\"attack.execution\",";
  append_json_string(tags, kHostile);
  tags += "]";
  EXPECT_EQ(db.value("SELECT tags FROM rules WHERE rule_index = 2"), tags);
  // Found by equality with the same bytes, so they were not altered.
  EXPECT_EQ(db.value("SELECT id FROM detections WHERE computer = ?", {"DC01 " + kHostile}), "4");
  EXPECT_EQ(db.value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"), "6");
}

TEST(SqliteSink, ReplacesAnExistingFile) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("hunt.db");
  test::write_file(path, "an old report, not a database\n");
  std::string error;
  auto sink = make_sqlite_sink(path.string(), h.ctx, &error);
  ASSERT_NE(sink, nullptr) << error;
  // Until the hunt finishes, the old file is untouched.
  EXPECT_EQ(test::read_file(path), "an old report, not a database\n");
  sink->begin(h.summary);
  for (const auto& d : h.detections) sink->write(d);
  ASSERT_TRUE(sink->finish(h.summary)) << sink->error();
  EXPECT_EQ(test::read_file(path).substr(0, 16), std::string("SQLite format 3\0", 16));
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"hunt.db"});
  Db db(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.count("detections"), 6);
  sink.reset();

  // An older database is replaced, not appended to.
  Hunt small;
  small.detections.resize(1);
  small.summary.stories.clear();
  ASSERT_TRUE(small.write(path, &error)) << error;
  Db again(path);
  EXPECT_EQ(again.count("detections"), 1);
  EXPECT_EQ(again.count("events"), 1);
}

TEST(SqliteSink, AbandonedHuntLeavesTheOldFile) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("hunt.db");
  test::write_file(path, "previous");
  {
    std::string error;
    auto sink = make_sqlite_sink(path.string(), h.ctx, &error);
    ASSERT_NE(sink, nullptr) << error;
    EXPECT_EQ(files_in(dir.path()).size(), 2u);  // the database being built sits beside it
    sink->write(h.detections[0]);
  }  // destroyed without finish: the hunt failed
  EXPECT_EQ(test::read_file(path), "previous");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"hunt.db"});
}

TEST(SqliteSink, FailureAtFinishIsReported) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("hunt.db");
  std::string error;
  auto sink = make_sqlite_sink(path.string(), h.ctx, &error);
  ASSERT_NE(sink, nullptr) << error;
  for (const auto& d : h.detections) sink->write(d);
  // Something takes the name meanwhile: a non-empty directory cannot be replaced.
  std::filesystem::create_directories(path / "inside");
  EXPECT_FALSE(sink->finish(h.summary));
  EXPECT_NE(sink->error().find(path.string()), std::string::npos) << sink->error();
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"hunt.db"});
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(SqliteSink, BadRuleIndexFailsCleanly) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("hunt.db");
  std::string error;
  auto sink = make_sqlite_sink(path.string(), h.ctx, &error);
  ASSERT_NE(sink, nullptr) << error;
  Detection d = h.detections[0];
  d.rule = 99;
  sink->write(d);
  EXPECT_FALSE(sink->finish(h.summary));
  EXPECT_NE(sink->error().find("rule 99"), std::string::npos) << sink->error();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(files_in(dir.path()).empty());
}

TEST(SqliteSink, RefusesAnUnwritablePathUpFront) {
  test::TempDir dir;
  Hunt h;
  std::string error;
  // A directory that does not exist.
  EXPECT_EQ(make_sqlite_sink(dir.file("no/such/dir/hunt.db").string(), h.ctx, &error), nullptr);
  EXPECT_NE(error.find("no/such/dir/hunt.db"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  // A directory where the file should be.
  error.clear();
  EXPECT_EQ(make_sqlite_sink(dir.path().string(), h.ctx, &error), nullptr);
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
  // No name at all.
  error.clear();
  EXPECT_EQ(make_sqlite_sink("", h.ctx, &error), nullptr);
  EXPECT_FALSE(error.empty());
  // A place that refuses new files: a read-only directory (root writes there
  // anyway, so then /proc, which accepts no new files from anyone).
  error.clear();
  std::filesystem::path target;
  if (::geteuid() != 0) {
    const auto ro = dir.file("readonly");
    std::filesystem::create_directory(ro);
    ASSERT_EQ(::chmod(ro.c_str(), 0555), 0);
    target = ro / "hunt.db";
  } else {
    target = "/proc/vigil-sqlite-test.db";
  }
  EXPECT_EQ(make_sqlite_sink(target.string(), h.ctx, &error), nullptr);
  EXPECT_NE(error.find(target.string()), std::string::npos) << error;
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(target));
  if (::geteuid() != 0) ::chmod(target.parent_path().c_str(), 0755);
  // A null error pointer is allowed.
  EXPECT_EQ(make_sqlite_sink(dir.file("missing/x.db").string(), h.ctx, nullptr), nullptr);
}

TEST(SqliteSink, EmptyHuntStillHasTheSchemaAndRun) {
  test::TempDir dir;
  Hunt h;
  h.detections.clear();
  HuntSummary s;
  s.run.version = "0.1.0";
  s.files_read = 1;
  const auto path = dir.file("empty.db");
  std::string error;
  auto sink = make_sqlite_sink(path.string(), h.ctx, &error);
  ASSERT_NE(sink, nullptr) << error;
  sink->begin(s);
  ASSERT_TRUE(sink->finish(s)) << sink->error();
  Db db(path);
  ASSERT_TRUE(db.ok());
  for (const char* t : {"detections", "events", "rules", "stories", "unreadable"}) EXPECT_EQ(db.count(t), 0) << t;
  EXPECT_EQ(db.count("run"), 1);
  EXPECT_EQ(db.value("SELECT started FROM run"), std::nullopt);
  EXPECT_EQ(db.value("SELECT filters FROM run"), "[]");
}

// Many detections: the one-transaction load keeps every row, and events shared
// by consecutive detections stay shared.
TEST(SqliteSink, ManyDetections) {
  test::TempDir dir;
  Hunt h;
  const auto path = dir.file("big.db");
  std::string error;
  auto sink = make_sqlite_sink(path.string(), h.ctx, &error);
  ASSERT_NE(sink, nullptr) << error;
  constexpr uint64_t kEvents = 100'000;
  Detection d = h.detections[1];
  d.story = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < kEvents; ++i) {
    d.time = at(9, 0, 0) + i * 10'000;
    d.sequence = 1000 + i;
    d.record_id = i;
    d.computer = i % 2 ? "WS01.corp.local" : "DC01.corp.local";
    d.event_json = "{\"EventID\":10,\"n\":" + std::to_string(i) + "}";
    d.rule = 0;
    sink->write(d);
    if (i % 4 == 0) {  // a second rule on every fourth event
      d.rule = 1;
      sink->write(d);
    }
  }
  ASSERT_TRUE(sink->finish(h.summary)) << sink->error();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu detections written in %.2f s\n", (unsigned long long)(kEvents + kEvents / 4), secs);
  Db db(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.count("detections"), int64_t(kEvents + kEvents / 4));
  EXPECT_EQ(db.count("events"), int64_t(kEvents));
  EXPECT_EQ(db.value("SELECT json FROM events WHERE rowid = (SELECT event_rowid FROM detections WHERE "
                     "record_id = 4240 AND rule_index = 1)"),
            "{\"EventID\":10,\"n\":4240}");
  EXPECT_EQ(db.value("SELECT count(*) FROM detections WHERE computer = 'WS01.corp.local'"),
            std::to_string(kEvents / 2));  // odd events, never a second rule
  EXPECT_EQ(db.value("SELECT count(*) FROM detections WHERE computer = 'DC01.corp.local'"),
            std::to_string(kEvents / 2 + kEvents / 4));
}

}  // namespace
}  // namespace vigil
