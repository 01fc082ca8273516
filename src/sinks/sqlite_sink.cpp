// The `sqlite` output: one SQLite database per hunt, for querying afterwards.
//
// Schema (PRAGMA user_version = 1; also documented in docs/outputs.md). Times
// are ISO 8601 UTC text ("2026-03-10T09:13:05.771000Z", fixed width, so text
// comparison is time order) or NULL when unknown; JSON columns hold JSON text
// (query them with json_each / json_extract / ->>). Levels come as text and as
// level_rank: 0 informational, 1 low, 2 medium, 3 high, 4 critical.
//
//   run         one row: version, command, started, threads, rule_paths (JSON),
//               inputs (JSON), rules_loaded, files_read, files_unreadable,
//               events, bytes, seconds (REAL), detections (before --dedup),
//               reported (written after --dedup), filters (JSON array of
//               "name: value"), summary (the whole summary object, as in the
//               JSON outputs)
//   rules       every rule that fired: rule_index (PRIMARY KEY, the rule's
//               position in the loaded rule set), id, title, level, level_rank,
//               status, description, author, date, tags (JSON), "references"
//               (JSON; REFERENCES is an SQL keyword, so double-quote the name),
//               falsepositives (JSON), path, detections (count), first, last
//   events      rowid (INTEGER PRIMARY KEY), json: the event's canonical fields
//               as one JSON object. One row per distinct event: the detections
//               of several rules on one event share it.
//   detections  id (INTEGER PRIMARY KEY, 1.. in timeline order), time,
//               time_ticks (FILETIME, 100 ns since 1601, for range queries),
//               rule_index -> rules, rule_id, rule_title, level, level_rank,
//               computer, channel, event_id (NULL when none), record_id,
//               source (input path), story -> stories.id (NULL when none),
//               count (identical detections folded by --dedup), last_time
//               (with count > 1: the last of them), matched (why it fired: JSON
//               array of {"selection","field","value"}), event_rowid -> events
//   stories     id (INTEGER PRIMARY KEY, 1 = most important), computer, first,
//               last, level, level_rank, tactics (JSON names), techniques (JSON),
//               detections, rules (JSON [{"id","title","level","count"}])
//   unreadable  path, reason: inputs that could not be read
//
// Indexes (built after the bulk load): detections(time_ticks), (rule_id),
// (computer), (story), (level_rank).
//
// The database is built in `path`.tmp-PID-N beside `path`, with journaling and
// syncing off (it is rebuilt from scratch, nothing to protect), in one
// transaction; finish() writes the summary tables, builds the indexes and the
// planner's statistics (ANALYZE), commits, syncs the file once and renames it
// over `path`. A hunt that fails or dies leaves any previous file at `path`
// untouched, and the temporary file is removed (unless the process is killed).
#include "sinks/sqlite_sink.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>
#include <vector>

#include "event/time.hpp"
#include "event/value.hpp"

namespace vigil {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE run (
  version TEXT, command TEXT, started TEXT, threads INTEGER, rule_paths TEXT, inputs TEXT,
  rules_loaded INTEGER, files_read INTEGER, files_unreadable INTEGER, events INTEGER, bytes INTEGER,
  seconds REAL, detections INTEGER, reported INTEGER, filters TEXT, summary TEXT);
CREATE TABLE rules (
  rule_index INTEGER PRIMARY KEY, id TEXT, title TEXT, level TEXT, level_rank INTEGER, status TEXT,
  description TEXT, author TEXT, date TEXT, tags TEXT, "references" TEXT, falsepositives TEXT, path TEXT,
  detections INTEGER, first TEXT, last TEXT);
CREATE TABLE events (rowid INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE stories (
  id INTEGER PRIMARY KEY, computer TEXT, first TEXT, last TEXT, level TEXT, level_rank INTEGER,
  tactics TEXT, techniques TEXT, detections INTEGER, rules TEXT);
CREATE TABLE detections (
  id INTEGER PRIMARY KEY, time TEXT, time_ticks INTEGER, rule_index INTEGER REFERENCES rules(rule_index),
  rule_id TEXT, rule_title TEXT, level TEXT, level_rank INTEGER, computer TEXT, channel TEXT,
  event_id INTEGER, record_id INTEGER, source TEXT, story INTEGER REFERENCES stories(id), count INTEGER,
  last_time TEXT, matched TEXT, event_rowid INTEGER REFERENCES events(rowid));
CREATE TABLE unreadable (path TEXT, reason TEXT);
)sql";

constexpr const char* kIndexes = R"sql(
CREATE INDEX detections_time ON detections(time_ticks);
CREATE INDEX detections_rule ON detections(rule_id);
CREATE INDEX detections_computer ON detections(computer);
CREATE INDEX detections_story ON detections(story);
CREATE INDEX detections_level ON detections(level_rank);
)sql";

constexpr const char* kInsertEvent = "INSERT INTO events (rowid, json) VALUES (?, ?)";
constexpr const char* kInsertDetection =
    "INSERT INTO detections (id, time, time_ticks, rule_index, rule_id, rule_title, level, level_rank, computer, "
    "channel, event_id, record_id, source, story, count, last_time, matched, event_rowid) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertRun =
    "INSERT INTO run (version, command, started, threads, rule_paths, inputs, rules_loaded, files_read, "
    "files_unreadable, events, bytes, seconds, detections, reported, filters, summary) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertRule =
    "INSERT INTO rules (rule_index, id, title, level, level_rank, status, description, author, date, tags, "
    "\"references\", falsepositives, path, detections, first, last) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertStory =
    "INSERT INTO stories (id, computer, first, last, level, level_rank, tactics, techniques, detections, rules) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertUnreadable = "INSERT INTO unreadable (path, reason) VALUES (?, ?)";

// SQLite integers are signed 64-bit; counts and ids never come near the limit,
// FILETIMEs past it (year 30828) are not valid times.
int64_t as_int(uint64_t v) { return v > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(v); }

void append_strings_json(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, v[i]);
  }
  out += ']';
}

std::string strings_json(const std::vector<std::string>& v) {
  std::string out;
  append_strings_json(out, v);
  return out;
}

// A prepared statement, bound column by column in order, then stepped.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { reset(); }

  bool prepare(sqlite3* db, const char* sql) {
    reset();
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) == SQLITE_OK;
  }
  void reset() {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }

  // The text must stay alive until step(): SQLite does not copy it.
  Statement& text(std::string_view v) {
    if (bind_rc_ == SQLITE_OK)
      bind_rc_ = sqlite3_bind_text64(stmt_, ++col_, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
    return *this;
  }
  // NULL when empty.
  Statement& text_or_null(std::string_view v) { return v.empty() ? null() : text(v); }
  Statement& integer(int64_t v) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_int64(stmt_, ++col_, v);
    return *this;
  }
  Statement& real(double v) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_double(stmt_, ++col_, v);
    return *this;
  }
  Statement& null() {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_null(stmt_, ++col_);
    return *this;
  }
  // Runs the insert; false on failure (the database's error message says why).
  bool step() {
    const bool ok = bind_rc_ == SQLITE_OK && sqlite3_step(stmt_) == SQLITE_DONE;
    sqlite3_reset(stmt_);
    col_ = 0;
    bind_rc_ = SQLITE_OK;
    return ok;
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int col_ = 0;
  int bind_rc_ = SQLITE_OK;
};

// First and last detection time and count of one rule, as seen by the sink.
struct SeenRule {
  uint64_t count = 0, first = 0, last = 0;
};

class SqliteSink final : public DetectionSink {
 public:
  SqliteSink(std::string path, std::string tmp, const DetectionContext& ctx)
      : path_(std::move(path)), tmp_(std::move(tmp)), ctx_(ctx) {}
  ~SqliteSink() override {
    close();
    if (!renamed_) ::unlink(tmp_.c_str());
  }

  // Creates the schema and starts the load; false with error() on failure.
  bool open() {
    if (sqlite3_open_v2(tmp_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      fail(fmt::format("cannot open {}", tmp_));
      return false;
    }
    sqlite3_extended_result_codes(db_, 1);
    const std::string setup = fmt::format(
        "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
        "PRAGMA cache_size=-65536; PRAGMA user_version={};",
        kSchemaVersion);
    return exec(setup.c_str(), "setting up") && exec(kSchema, "creating the tables") &&
           exec("BEGIN", "starting the load") && prepare(event_, kInsertEvent) &&
           prepare(detection_, kInsertDetection);
  }

  void write(const Detection& d) override {
    if (failed_ || finished_) return;
    if (d.rule >= ctx_.rules.size()) {
      fail(fmt::format("a detection names rule {} but {} rules are loaded", d.rule, ctx_.rules.size()));
      return;
    }
    const sigma::Rule& r = ctx_.rules[d.rule];

    // Detections of one event are adjacent in timeline order (same time, same
    // sequence): they share its row.
    if (!event_rowid_ || d.sequence != last_sequence_ || d.source != last_source_ ||
        d.event_json != last_event_json_) {
      ++event_rowid_;
      const std::string_view json = d.event_json.empty() ? std::string_view("{}") : std::string_view(d.event_json);
      if (!event_.integer(event_rowid_).text(json).step()) {
        fail("writing an event");
        return;
      }
      last_sequence_ = d.sequence;
      last_source_ = d.source;
      last_event_json_ = d.event_json;
    }

    time_.clear();
    if (d.time) append_filetime_iso(time_, d.time);
    last_time_.clear();
    if (d.count > 1 && d.last_time) append_filetime_iso(last_time_, d.last_time);
    const std::string* source = d.source < ctx_.sources->size() ? &(*ctx_.sources)[d.source] : nullptr;

    detection_.integer(++detection_id_).text_or_null(time_);
    if (d.time) detection_.integer(as_int(d.time));
    else detection_.null();
    detection_.integer(d.rule).text(r.id).text(r.title).text(sigma::level_name(r.level)).integer(int(r.level));
    detection_.text(d.computer).text(d.channel);
    if (d.event_id >= 0) detection_.integer(d.event_id);
    else detection_.null();
    detection_.integer(as_int(d.record_id));
    if (source) detection_.text(*source);
    else detection_.null();
    if (d.story) detection_.integer(d.story);
    else detection_.null();
    detection_.integer(as_int(d.count)).text_or_null(last_time_);
    detection_.text(d.explain_json.empty() ? std::string_view("[]") : std::string_view(d.explain_json));
    detection_.integer(event_rowid_);
    if (!detection_.step()) {
      fail("writing a detection");
      return;
    }

    if (seen_.size() <= d.rule) seen_.resize(d.rule + 1);
    SeenRule& s = seen_[d.rule];
    s.count += d.count;
    if (d.time) {
      if (!s.first || d.time < s.first) s.first = d.time;
      s.last = std::max(s.last, std::max(d.time, d.last_time));
    }
  }

  bool finish(const HuntSummary& summary) override {
    if (finished_) return !failed_;
    finished_ = true;
    if (!failed_ && write_summary(summary) && exec(kIndexes, "indexing") &&
        exec("PRAGMA analysis_limit=1000; ANALYZE", "analysing") && exec("COMMIT", "committing")) {
      close();
      if (!failed_) publish();
    }
    close();
    if (failed_) ::unlink(tmp_.c_str());
    return !failed_;
  }

  std::string error() const override { return error_; }

 private:
  // Records the first failure, with the database's reason when there is one.
  void fail(const std::string& what) {
    if (failed_) return;
    failed_ = true;
    error_ = fmt::format("{}: {}", path_, what);
    if (db_ && sqlite3_errcode(db_) != SQLITE_OK) error_ += fmt::format(": {}", sqlite3_errmsg(db_));
  }
  void fail_errno(const std::string& what) {
    const int e = errno;
    if (failed_) return;
    failed_ = true;
    error_ = fmt::format("{}: {}: {}", path_, what, std::strerror(e));
  }

  bool exec(const char* sql, const char* what) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK) return true;
    fail(what);
    return false;
  }
  bool prepare(Statement& s, const char* sql) {
    if (s.prepare(db_, sql)) return true;
    fail("preparing a statement");
    return false;
  }

  void close() {
    event_.reset();
    detection_.reset();
    if (!db_) return;
    if (sqlite3_close(db_) != SQLITE_OK) fail("closing");
    db_ = nullptr;
  }

  // The run, rules, stories and unreadable tables, from the final summary.
  bool write_summary(const HuntSummary& s) {
    std::string summary_json, started;
    append_summary_json(summary_json, s, ctx_);
    if (s.run.started) append_filetime_iso(started, s.run.started);
    const std::string rule_paths = strings_json(s.run.rule_paths), inputs = strings_json(s.run.inputs),
                      filters = strings_json(s.run.filters);
    Statement st;
    if (!prepare(st, kInsertRun)) return false;
    st.text(s.run.version).text(s.run.command).text_or_null(started).integer(s.run.threads);
    st.text(rule_paths).text(inputs).integer(as_int(s.rules_loaded)).integer(as_int(s.files_read));
    st.integer(as_int(s.unreadable.size())).integer(as_int(s.events)).integer(as_int(s.bytes)).real(s.seconds);
    st.integer(as_int(s.detections)).integer(as_int(s.reported)).text(filters).text(summary_json);
    if (!st.step()) return fail("writing the run"), false;

    // Rules: the summary's counts; a rule that has detections here but is
    // missing from the summary still gets its row, with the sink's own count.
    std::vector<RuleHits> hits = s.rules;
    std::vector<uint8_t> listed(ctx_.rules.size(), 0);
    for (const RuleHits& h : hits)
      if (h.rule < listed.size()) listed[h.rule] = 1;
    for (uint32_t i = 0; i < seen_.size(); ++i)
      if (seen_[i].count && !listed[i]) hits.push_back({i, seen_[i].count, seen_[i].first, seen_[i].last});
    if (!prepare(st, kInsertRule)) return false;
    std::string first, last;
    for (const RuleHits& h : hits) {
      if (h.rule >= ctx_.rules.size() || (h.rule < listed.size() && listed[h.rule] == 2)) continue;
      listed[h.rule] = 2;  // once, even if the summary lists it twice
      const sigma::Rule& r = ctx_.rules[h.rule];
      const std::string tags = strings_json(r.tags), refs = strings_json(r.references),
                        fps = strings_json(r.falsepositives);
      first.clear();
      last.clear();
      if (h.first) append_filetime_iso(first, h.first);
      if (h.last) append_filetime_iso(last, h.last);
      st.integer(h.rule).text(r.id).text(r.title).text(sigma::level_name(r.level)).integer(int(r.level));
      st.text(r.status).text(r.description).text(r.author).text(r.date).text(tags).text(refs).text(fps);
      st.text(r.path).integer(as_int(h.count)).text_or_null(first).text_or_null(last);
      if (!st.step()) return fail("writing a rule"), false;
    }

    if (!prepare(st, kInsertStory)) return false;
    const auto& tactics = ctx_.attack->tactics();
    for (const Story& story : s.stories) {
      std::string tactics_json = "[", rules_json = "[";
      for (int t : story.tactics) {
        if (t < 0 || size_t(t) >= tactics.size()) continue;
        if (tactics_json.size() > 1) tactics_json += ',';
        append_json_string(tactics_json, tactics[size_t(t)].name);
      }
      tactics_json += ']';
      for (const auto& [rule, count] : story.rules) {
        if (rule >= ctx_.rules.size()) continue;
        const sigma::Rule& r = ctx_.rules[rule];
        if (rules_json.size() > 1) rules_json += ',';
        rules_json += "{\"id\":";
        append_json_string(rules_json, r.id);
        rules_json += ",\"title\":";
        append_json_string(rules_json, r.title);
        rules_json += ",\"level\":";
        append_json_string(rules_json, sigma::level_name(r.level));
        rules_json += fmt::format(",\"count\":{}}}", count);
      }
      rules_json += ']';
      const std::string techniques = strings_json(story.techniques);
      first.clear();
      last.clear();
      if (story.first) append_filetime_iso(first, story.first);
      if (story.last) append_filetime_iso(last, story.last);
      st.integer(story.id).text(story.computer).text_or_null(first).text_or_null(last);
      st.text(sigma::level_name(story.level)).integer(int(story.level)).text(tactics_json).text(techniques);
      st.integer(as_int(story.detections)).text(rules_json);
      if (!st.step()) return fail("writing a story"), false;
    }

    if (!prepare(st, kInsertUnreadable)) return false;
    for (const InputFailure& f : s.unreadable) {
      st.text(f.path).text(f.reason);
      if (!st.step()) return fail("writing an unreadable input"), false;
    }
    return true;
  }

  // Syncs the finished file once and renames it over `path`.
  void publish() {
    const int fd = ::open(tmp_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      fail_errno(fmt::format("syncing {}", tmp_));
      if (fd >= 0) ::close(fd);
      return;
    }
    ::close(fd);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      fail_errno(fmt::format("renaming {} over it", tmp_));
      return;
    }
    renamed_ = true;
    // Make the rename itself durable; not every file system can sync a directory.
    const size_t slash = path_.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }

  std::string path_, tmp_;
  const DetectionContext& ctx_;
  sqlite3* db_ = nullptr;
  Statement event_, detection_;
  bool failed_ = false, finished_ = false, renamed_ = false;
  std::string error_;
  int64_t event_rowid_ = 0, detection_id_ = 0;
  uint64_t last_sequence_ = 0;
  uint32_t last_source_ = 0;
  std::string last_event_json_, time_, last_time_;
  std::vector<SeenRule> seen_;
};

}  // namespace

std::unique_ptr<DetectionSink> make_sqlite_sink(const std::string& path, const DetectionContext& ctx,
                                                std::string* error) {
  auto refuse = [&](const std::string& message) -> std::unique_ptr<DetectionSink> {
    if (error) *error = message;
    return nullptr;
  };
  if (path.empty() || path == "-") return refuse("the sqlite output needs a file name (-o FILE)");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return refuse(fmt::format("{}: is a directory", path));

  // The temporary file beside `path` (same file system, so the final rename is
  // atomic). Creating it here is what refuses an unwritable place up front.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  for (int attempt = 0;; ++attempt) {
    tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      break;
    }
    if (errno != EEXIST || attempt == 100)
      return refuse(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  }
  auto sink = std::make_unique<SqliteSink>(path, tmp, ctx);
  if (!sink->open()) return refuse(sink->error());  // the sink's destructor removes the file
  return sink;
}

}  // namespace vigil
