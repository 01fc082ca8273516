// `vigil hunt` outputs, filters and exit statuses, end to end: the shipped rule
// pack over the shipped sample intrusion (whose detections rule_pack_test
// checks one by one), plus events written here for the edge cases.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>

#include "test_support.hpp"

using namespace vigil::test;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = VIGIL_SOURCE_DIR;
const std::string kRules = (kRepo / "rules").string();
const std::string kSamples = (kRepo / "samples" / "intrusion").string();

struct Det {
  std::string timestamp, rule_id, title, level, computer, event;
  std::vector<std::string> tags;
  std::vector<std::string> matched;  // "selection|field|value"
  int64_t story = 0, count = 0;
  bool correlation = false;
};

std::string str(simdjson::dom::element e) {
  std::string_view v;
  if (e.get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

// Parses `hunt -f jsonl` output: detections and stories.
struct Jsonl {
  std::vector<Det> detections;
  std::vector<std::string> story_lines;
};
Jsonl parse_jsonl(const std::string& text) {
  Jsonl out;
  simdjson::dom::parser parser;
  for (const auto& line : lines(text)) {
    simdjson::dom::object o;
    if (parser.parse(line).get(o) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    const std::string type = str(o["type"]);
    if (type == "story") {
      out.story_lines.push_back(line);
      continue;
    }
    EXPECT_EQ(type, "detection") << line;
    Det d;
    d.timestamp = str(o["timestamp"]);
    d.rule_id = str(o["rule_id"]);
    d.title = str(o["rule_title"]);
    d.level = str(o["level"]);
    d.computer = str(o["computer"]);
    d.event = simdjson::minify(o["event"]);
    for (auto t : o["tags"].get_array()) d.tags.push_back(str(t));
    for (auto m : o["matched"].get_array())
      d.matched.push_back(str(m["selection"]) + "|" + str(m["field"]) + "|" + str(m["value"]));
    simdjson::dom::object corr;
    d.correlation = o["correlation"].get(corr) == simdjson::SUCCESS;
    int64_t n = 0;
    if (o["story"].get(n) == simdjson::SUCCESS) d.story = n;
    if (o["count"].get(n) == simdjson::SUCCESS) d.count = n;
    out.detections.push_back(std::move(d));
  }
  return out;
}

// RFC 4180: fields separated by commas, records by CRLF; quoted fields may
// hold commas, CRLF and doubled quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, in_quotes = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty() && !quoted) {
      in_quotes = quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      quoted = false;
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      EXPECT_NE(c, '"') << "a bare quote inside an unquoted field at byte " << i;
      EXPECT_NE(c, '\n') << "a bare LF outside quotes at byte " << i;
      field += c;
    }
  }
  EXPECT_FALSE(in_quotes) << "unterminated quoted field";
  EXPECT_TRUE(field.empty() && row.empty()) << "the last record lacks its CRLF";
  return rows;
}

RunResult hunt(std::vector<std::string> extra, std::vector<std::string> inputs = {kSamples}) {
  std::vector<std::string> args = {"hunt", "--no-cache", "-r", kRules};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), inputs.begin(), inputs.end());
  return run_vigil(args);
}

Jsonl baseline() {
  const RunResult r = hunt({"-q", "-f", "jsonl"});
  EXPECT_EQ(r.status, 0) << r.err;
  return parse_jsonl(r.out);
}

}  // namespace

TEST(HuntOutputs, JsonlIsTimeOrderedWithExplanationsAndStories) {
  const Jsonl j = baseline();
  ASSERT_EQ(j.detections.size(), 27u) << "the sample intrusion's known detections, 4 of them correlations (see rule_pack_test)";
  EXPECT_TRUE(std::is_sorted(j.detections.begin(), j.detections.end(),
                             [](const Det& a, const Det& b) { return a.timestamp < b.timestamp; }));
  simdjson::dom::parser parser;
  std::map<int64_t, int64_t> per_story;
  for (const Det& d : j.detections) {
    ASSERT_FALSE(d.matched.empty()) << d.title << ": every detection says why it fired";
    // Each explained value is a value of the event itself.
    for (const std::string& m : d.matched) {
      const auto bar1 = m.find('|'), bar2 = m.find('|', bar1 + 1);
      const std::string field = m.substr(bar1 + 1, bar2 - bar1 - 1), value = m.substr(bar2 + 1);
      simdjson::dom::object ev;
      ASSERT_EQ(parser.parse(d.event).get(ev), simdjson::SUCCESS);
      if (field.empty()) continue;  // a keyword: any field
      if (d.correlation && m.rfind("condition|", 0) == 0) continue;  // the count that crossed the threshold
      simdjson::dom::element v;
      ASSERT_EQ(ev[field].get(v), simdjson::SUCCESS) << m << " not in " << d.event;
      std::string_view got;
      if (v.get_string().get(got) == simdjson::SUCCESS) EXPECT_EQ(got, value);
      else EXPECT_EQ(simdjson::minify(v), value) << "numbers are explained as their text";
    }
    ASSERT_GT(d.story, 0) << "every detection belongs to a story";
    ++per_story[d.story];
    EXPECT_EQ(d.count, 1);
  }
  // Stories: one line each, numbered from 1, their counts add up.
  ASSERT_EQ(j.story_lines.size(), per_story.size());
  int64_t expect_id = 1;
  for (const auto& line : j.story_lines) {
    simdjson::dom::object s;
    ASSERT_EQ(parser.parse(line).get(s), simdjson::SUCCESS);
    EXPECT_EQ(s["id"].get_int64().value(), expect_id);
    EXPECT_EQ(s["detections"].get_int64().value(), per_story[expect_id]) << line;
    ++expect_id;
  }
  // The three sample hosts with detections are three stories, and the account's
  // fan-out over the network ends on a fourth host (HR-APP02), its own story;
  // the domain controller's, where the database was stolen and the log cleared,
  // ranks first.
  EXPECT_EQ(j.story_lines.size(), 4u);
  EXPECT_NE(j.story_lines[0].find("\"computer\":\"DC01.corp.acme-defense.example\""), std::string::npos);
  EXPECT_NE(j.story_lines[0].find("\"level\":\"high\""), std::string::npos);
}

TEST(HuntOutputs, CsvHasTheSameDetectionsTimesketchReady) {
  TempDir dir;
  const std::string csv = dir.file("out.csv").string(), jsonl = dir.file("out.jsonl").string();
  const RunResult r = hunt({"-q", "-f", "csv", "-o", csv, "-f", "jsonl", "-o", jsonl});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "") << "both outputs went to files";
  const Jsonl j = parse_jsonl(read_file(jsonl));
  const auto rows = parse_csv(read_file(csv));
  ASSERT_EQ(rows.size(), j.detections.size() + 1);
  const auto& head = rows[0];
  ASSERT_GE(head.size(), 3u);
  EXPECT_EQ(head[0], "datetime");
  EXPECT_EQ(head[1], "timestamp_desc");
  EXPECT_EQ(head[2], "message");
  auto col = [&head](const char* name) {
    const auto it = std::find(head.begin(), head.end(), name);
    EXPECT_NE(it, head.end()) << name;
    return size_t(it - head.begin());
  };
  const size_t rule_id = col("rule_id"), computer = col("computer"), event = col("event"), level = col("level"),
               matched = col("matched"), timestamp = col("timestamp");
  simdjson::dom::parser parser;
  for (size_t i = 0; i < j.detections.size(); ++i) {
    const auto& row = rows[i + 1];
    const Det& d = j.detections[i];
    ASSERT_EQ(row.size(), head.size()) << "row " << i;
    EXPECT_EQ(row[0], d.timestamp);
    EXPECT_EQ(row[1], "Event Time");
    EXPECT_NE(row[2].find(d.title), std::string::npos) << row[2];
    EXPECT_EQ(row[rule_id], d.rule_id);
    EXPECT_EQ(row[computer], d.computer);
    EXPECT_EQ(row[level], d.level);
    EXPECT_FALSE(row[matched].empty());
    EXPECT_EQ(row[timestamp].size(), 16u) << "microseconds since 1970";
    simdjson::dom::element ev;
    ASSERT_EQ(parser.parse(row[event]).get(ev), simdjson::SUCCESS) << row[event];
    EXPECT_EQ(simdjson::minify(ev), d.event) << "the event round-trips through CSV quoting";
  }
}

TEST(HuntOutputs, CsvQuotesCommasQuotesAndNewlines) {
  TempDir dir;
  write_file(dir.file("e.jsonl"),
             R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T09:00:00Z","Image":"C:\\Windows\\System32\\ntdsutil.exe","CommandLine":"ntdsutil \"ac i ntds\" ifm \"create full c:\\t\"\r\nq,q"})"
             "\n");
  const std::string csv = dir.file("out.csv").string();
  const RunResult r = hunt({"-q", "-f", "csv", "-o", csv}, {dir.file("e.jsonl").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = parse_csv(read_file(csv));
  ASSERT_EQ(rows.size(), 2u) << read_file(csv);
  const auto& head = rows[0];
  const size_t event = size_t(std::find(head.begin(), head.end(), "event") - head.begin());
  EXPECT_NE(rows[1][event].find(R"(\"create full c:\\t\"\r\nq,q)"), std::string::npos) << rows[1][event];
  EXPECT_NE(rows[1][2].find("ntdsutil \"ac i ntds\""), std::string::npos) << "the message keeps the quotes";
}

TEST(HuntOutputs, NavigatorLayerScoresTechniquesByDetections) {
  TempDir dir;
  const std::string layer = dir.file("layer.json").string();
  const RunResult r = hunt({"-q", "-f", "navigator", "-o", layer, "-f", "jsonl"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Jsonl j = parse_jsonl(r.out);
  std::map<std::string, int64_t> expected;
  std::map<std::string, std::set<std::string>> rules_of;
  for (const Det& d : j.detections)
    for (const auto& t : d.tags)
      if (t.size() > 8 && t.compare(0, 8, "attack.t") == 0 && isdigit(static_cast<unsigned char>(t[8]))) {
        std::string id = "T" + t.substr(8);
        ++expected[id];
        rules_of[id].insert(d.title);
      }
  ASSERT_FALSE(expected.empty());
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  const std::string text = read_file(layer);
  ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS) << text;
  EXPECT_EQ(str(root["domain"]), "enterprise-attack");
  EXPECT_FALSE(str(root["versions"]["layer"]).empty());
  std::map<std::string, int64_t> got;
  for (auto t : root["techniques"].get_array()) {
    const std::string id = str(t["techniqueID"]);
    got[id] = t["score"].get_int64().value();
    std::set<std::string> titles;
    for (auto m : t["metadata"].get_array()) {
      const std::string v = str(m["value"]);
      titles.insert(v.substr(0, v.find(" (")));
    }
    EXPECT_EQ(titles, rules_of[id]) << id << ": each technique lists the rules that hit it";
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(root["gradient"]["maxValue"].get_int64().value(),
            std::max_element(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.second < b.second; })->second);
}

TEST(HuntOutputs, SqliteHoldsTheSameDetectionsStoriesAndRun) {
  TempDir dir;
  const std::string db_path = dir.file("hunt.db").string();
  const RunResult r = hunt({"-q", "-f", "sqlite", "-o", db_path, "-f", "jsonl"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Jsonl j = parse_jsonl(r.out);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto rows = [db](const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  };
  const auto dets = rows(
      "SELECT d.time, d.rule_id, d.computer, d.level, d.story, d.matched, e.json FROM detections d "
      "JOIN events e ON e.rowid = d.event_rowid ORDER BY d.id");
  ASSERT_EQ(dets.size(), j.detections.size());
  simdjson::dom::parser parser;
  for (size_t i = 0; i < dets.size(); ++i) {
    const Det& d = j.detections[i];
    EXPECT_EQ(dets[i][0], d.timestamp);
    EXPECT_EQ(dets[i][1], d.rule_id);
    EXPECT_EQ(dets[i][2], d.computer);
    EXPECT_EQ(dets[i][3], d.level);
    EXPECT_EQ(dets[i][4], std::to_string(d.story));
    simdjson::dom::element ev;
    ASSERT_EQ(parser.parse(dets[i][6]).get(ev), simdjson::SUCCESS);
    EXPECT_EQ(simdjson::minify(ev), d.event);
    EXPECT_NE(dets[i][5].find("\"selection\""), std::string::npos) << "why it fired is stored";
  }
  EXPECT_EQ(rows("SELECT count(*) FROM stories")[0][0], std::to_string(j.story_lines.size()));
  EXPECT_EQ(rows("SELECT computer FROM stories WHERE id = 1")[0][0], "DC01.corp.acme-defense.example");
  const auto run = rows("SELECT detections, files_read, events FROM run");
  ASSERT_EQ(run.size(), 1u);
  EXPECT_EQ(run[0][0], std::to_string(j.detections.size()));
  EXPECT_EQ(run[0][1], "3");
  EXPECT_EQ(run[0][2], "42");
  // Indexes for the queries a hunter runs afterwards.
  const auto idx = rows("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'detections'");
  std::string all;
  for (const auto& x : idx) all += x[0] + "\n";
  for (const char* col : {"time_ticks", "rule_id", "computer"}) EXPECT_NE(all.find(col), std::string::npos) << all;
  sqlite3_close(db);
  // A database needs a file; an unwritable one is refused before scanning.
  EXPECT_EQ(hunt({"-q", "-f", "sqlite"}).status, 2);
  const RunResult bad = hunt({"-f", "sqlite", "-o", "/nonexistent-dir/h.db"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err.find("detections"), std::string::npos) << bad.err;
}

TEST(HuntOutputs, TableShowsSummaryAndExplanations) {
  const RunResult r = hunt({"--explain", "--progress", "never"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("why: selection"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colours when stdout is not a terminal";
  // The summary goes to stderr: stories first, then the counts.
  const size_t stories = r.err.find("Stories"), found = r.err.find("found    27 detections");
  ASSERT_NE(stories, std::string::npos) << r.err;
  ASSERT_NE(found, std::string::npos) << r.err;
  EXPECT_LT(stories, found);
  for (const char* part : {"top rules", "top computers", "ATT&CK tactics", "TA0006 Credential Access", "T1003.003",
                           "DC01.corp.acme-defense.example", "3 files"})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << "\n" << r.err;
  const RunResult quiet = hunt({"-q"});
  EXPECT_EQ(quiet.err, "") << "--quiet silences the summary";
}

TEST(HuntFilters, MinLevelKeepsOnlyThatLevelAndAbove) {
  const Jsonl all = baseline();
  const auto high = std::count_if(all.detections.begin(), all.detections.end(),
                                  [](const Det& d) { return d.level == "high" || d.level == "critical"; });
  ASSERT_GT(high, 0);
  ASSERT_LT(size_t(high), all.detections.size());
  const RunResult r = hunt({"-q", "-f", "jsonl", "--min-level", "HIGH"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Jsonl j = parse_jsonl(r.out);
  EXPECT_EQ(j.detections.size(), size_t(high));
  for (const Det& d : j.detections) EXPECT_TRUE(d.level == "high" || d.level == "critical") << d.title;
  EXPECT_EQ(hunt({"-q", "--min-level", "severe"}).status, 2);
}

TEST(HuntFilters, TimeWindowIsInclusiveAndRefusedBackwards) {
  const Jsonl all = baseline();
  // From the 5th detection's time to the 10th's, both included. (Correlations
  // left aside: whether they fire depends on events outside the window too.)
  const std::string from = all.detections[4].timestamp, to = all.detections[9].timestamp;
  auto single = [](const Jsonl& j) {
    std::vector<Det> out;
    for (const Det& d : j.detections)
      if (!d.correlation) out.push_back(d);
    return out;
  };
  const auto singles = single(all);
  const auto expected = std::count_if(singles.begin(), singles.end(),
                                      [&](const Det& d) { return d.timestamp >= from && d.timestamp <= to; });
  const RunResult r = hunt({"-q", "-f", "jsonl", "--from", from, "--to", to});
  ASSERT_EQ(r.status, 0) << r.err;
  const Jsonl j = parse_jsonl(r.out);
  EXPECT_EQ(single(j).size(), size_t(expected));
  EXPECT_GE(single(j).size(), 5u);
  for (const Det& d : j.detections) {
    EXPECT_GE(d.timestamp, from);
    EXPECT_LE(d.timestamp, to);
  }
  // A bare date for --to takes in the whole day.
  EXPECT_EQ(parse_jsonl(hunt({"-q", "-f", "jsonl", "--to", "2026-03-10"}).out).detections.size(), all.detections.size());
  EXPECT_EQ(parse_jsonl(hunt({"-q", "-f", "jsonl", "--to", "2026-03-09"}).out).detections.size(), 0u);
  const RunResult backwards = hunt({"-q", "--from", to, "--to", from});
  EXPECT_EQ(backwards.status, 2);
  EXPECT_NE(backwards.err.find("is after --to"), std::string::npos) << backwards.err;
  EXPECT_EQ(hunt({"-q", "--from", "yesterday"}).status, 2);
}

TEST(HuntFilters, RuleStatusAndExclusions) {
  const Jsonl all = baseline();
  std::map<std::string, size_t> per_rule;
  for (const Det& d : all.detections) ++per_rule[d.rule_id];
  ASSERT_GE(per_rule.size(), 3u);
  auto it = per_rule.begin();
  const std::string first = it->first;
  const size_t first_n = it->second;
  ++it;
  const std::string second = it->first;
  const size_t second_n = it->second;

  const RunResult one = hunt({"-q", "-f", "jsonl", "--exclude-rule", first});
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(parse_jsonl(one.out).detections.size(), all.detections.size() - first_n);

  TempDir dir;
  write_file(dir.file("skip.txt"), "# noisy here\n" + first + "\n\n  " + second + "  # and this\n");
  const RunResult two = hunt({"-f", "jsonl", "--exclude-rules-file", dir.file("skip.txt").string(), "--exclude-rule",
                              "00000000-0000-0000-0000-000000000000", "--progress", "never"});
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_EQ(parse_jsonl(two.out).detections.size(), all.detections.size() - first_n - second_n);
  EXPECT_NE(two.err.find("00000000-0000-0000-0000-000000000000 is not among the loaded rules"), std::string::npos)
      << two.err;
  EXPECT_EQ(hunt({"-q", "--exclude-rules-file", dir.file("missing.txt").string()}).status, 2);

  // The shipped pack is all `experimental`.
  EXPECT_EQ(parse_jsonl(hunt({"-q", "-f", "jsonl", "--rule-status", "stable"}).out).detections.size(), 0u);
  EXPECT_EQ(parse_jsonl(hunt({"-q", "-f", "jsonl", "--rule-status", "stable,experimental"}).out).detections.size(),
            all.detections.size());
}

TEST(HuntFilters, ComputerByNameOrWildcard) {
  const Jsonl all = baseline();
  const auto on_dc = std::count_if(all.detections.begin(), all.detections.end(),
                                   [](const Det& d) { return d.computer == "DC01.corp.acme-defense.example"; });
  ASSERT_GT(on_dc, 0);
  const Jsonl exact = parse_jsonl(hunt({"-q", "-f", "jsonl", "--computer", "dc01.CORP.acme-defense.example"}).out);
  EXPECT_EQ(exact.detections.size(), size_t(on_dc));
  const Jsonl glob = parse_jsonl(hunt({"-q", "-f", "jsonl", "--computer", "DC01*"}).out);
  EXPECT_EQ(glob.detections.size(), size_t(on_dc));
  const Jsonl two = parse_jsonl(hunt({"-q", "-f", "jsonl", "--computer", "DC01*", "--computer", "ws-eng-07*"}).out);
  EXPECT_GT(two.detections.size(), size_t(on_dc));
  for (const Det& d : two.detections) EXPECT_NE(d.computer.rfind("FS01", 0), 0u) << d.computer;
  EXPECT_EQ(parse_jsonl(hunt({"-q", "-f", "jsonl", "--computer", "DC01"}).out).detections.size(), 0u)
      << "a name without a wildcard must match whole";
}

TEST(HuntFilters, DedupFoldsRepeatsWithACount) {
  TempDir dir;
  std::string events;
  for (int i = 0; i < 5; ++i)  // the same command five times, as a scheduled task would run it
    events += R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T09:0)" +
              std::to_string(i) + R"(:00Z","ProcessId":)" + std::to_string(100 + i) +
              R"(,"Image":"C:\\Windows\\System32\\ntdsutil.exe","CommandLine":"ntdsutil \"ac i ntds\" ifm \"create full c:\\t\" q q"})" "\n";
  events += R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T09:30:00Z","ProcessId":7,"Image":"C:\\Windows\\System32\\ntdsutil.exe","CommandLine":"ntdsutil \"ac i ntds\" ifm \"create full d:\\x\" q q"})" "\n";
  write_file(dir.file("e.jsonl"), events);
  const std::string input = dir.file("e.jsonl").string();
  const Jsonl plain = parse_jsonl(hunt({"-q", "-f", "jsonl"}, {input}).out);
  ASSERT_EQ(plain.detections.size(), 6u);
  const RunResult r = hunt({"-q", "-f", "jsonl", "--dedup"}, {input});
  ASSERT_EQ(r.status, 0) << r.err;
  const Jsonl j = parse_jsonl(r.out);
  ASSERT_EQ(j.detections.size(), 2u);
  EXPECT_EQ(j.detections[0].count, 5);
  EXPECT_EQ(j.detections[0].timestamp, "2026-03-10T09:00:00.000000Z");
  EXPECT_NE(r.out.find("\"last_timestamp\":\"2026-03-10T09:04:00.000000Z\""), std::string::npos) << r.out;
  EXPECT_EQ(j.detections[1].count, 1);
}

TEST(HuntErrors, BadUseAndBadPaths) {
  // Unknown option or format: a short usage line, status 2.
  RunResult r = hunt({"--no-such-option"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("vigil --help"), std::string::npos) << r.err;
  r = hunt({"-f", "pdf"});
  EXPECT_EQ(r.status, 2);
  // More outputs than formats.
  EXPECT_EQ(hunt({"-f", "csv", "-o", "/tmp/a", "-o", "/tmp/b"}).status, 2);
  // Two formats on stdout.
  EXPECT_EQ(hunt({"-f", "csv", "-f", "jsonl"}).status, 2);

  // An output that cannot be written is refused before any scanning: no
  // summary, no detections counted.
  r = hunt({"-f", "jsonl", "-o", "/nonexistent-dir/out.jsonl"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot write /nonexistent-dir/out.jsonl"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("detections"), std::string::npos) << r.err;

  // An unreadable input is reported, the hunt goes on, and the summary lists it.
  TempDir dir;
  write_file(dir.file("bad.evtx"), "ElfFile\0 truncated");
  r = hunt({"--progress", "never"}, {kSamples, (dir.path() / "missing").string(), dir.file("bad.evtx").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("found    27 detections"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unreadable inputs (2)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos);

  // Nothing readable at all: status 1.
  r = hunt({"-q"}, {(dir.path() / "missing").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no input could be read"), std::string::npos) << r.err;
}

TEST(HuntOutputs, ProgressOnlyWhenAskedOrOnATerminal) {
  const RunResult always = hunt({"-f", "jsonl", "--progress", "always"});
  ASSERT_EQ(always.status, 0) << always.err;
  EXPECT_NE(always.err.find("files, "), std::string::npos) << always.err;
  EXPECT_NE(always.err.find("events/s"), std::string::npos) << always.err;
  EXPECT_NE(always.err.find("\r\x1b[K"), std::string::npos) << "the line is erased before other output";
  const RunResult piped = hunt({"-f", "jsonl"});  // stderr is a pipe here: no progress
  EXPECT_EQ(piped.err.find("events/s,"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("\r"), std::string::npos) << piped.err;
}

TEST(HuntErrors, ExitStatusesAreDocumented) {
  const RunResult r = run_vigil({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Exit status: 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 bad usage"), std::string::npos) << r.out;
  const std::string readme = read_file(kRepo / "README.md");
  EXPECT_NE(readme.find("Exit status"), std::string::npos) << "README documents the exit statuses";
}
