// The multi-pattern prefilter: for each log-source group (a candidate list of
// the channel/EventID index: the rules that can apply to one kind of event)
// and field, one vectorscan literal database holds a literal of every string
// pattern of every atom on that field of the group's rules. One scan of a
// value per group the event belongs to says which patterns may match it; only
// those are confirmed by the exact matcher, and only rules with a possible hit
// are evaluated. This is what keeps the cost per event nearly flat as the rule
// count grows, and an event never scans the literals of rules that cannot
// apply to it (a Sysmon image load does not scan `Image` against the
// process-creation rules). Pattern ids are global: a literal shared by several
// groups has one id.
//
// Regular expressions take part too. Those vectorscan can run exactly go into
// a regex database of their field, and its answer is final: all of a field's
// regexes cost one pass. For the others, RE2's FilteredRE2 reduces the regex
// to the literals ("atoms") any match must contain, entered in the field's
// literal database under the regex's id (its one indispensable atom, or else
// all of them); a regex without such literals runs in vectorscan's prefilter
// mode (it may report a value too many, never one too few). RE2 then confirms.
#pragma once
#include <hs/hs.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "detection/sigma/equals_table.hpp"
#include "detection/sigma/pattern.hpp"
#include "event/text.hpp"

namespace vigil::sigma {

class Prefilter {
 public:
  Prefilter() = default;
  ~Prefilter();
  Prefilter(const Prefilter&) = delete;
  Prefilter& operator=(const Prefilter&) = delete;

  // Gives every prefilterable string pattern in `atoms` an id (Pattern::prefilter)
  // and compiles the databases of each group: `group_atoms[g]` lists the atoms
  // of group g's rules. `triggers`, called once the ids are given, says which
  // ids some rule is triggered by: a short literal (see kShortLiteral) that is
  // not is left out, its patterns unfiltered. Patterns vectorscan cannot take
  // stay unfiltered too: choose the triggers again afterwards. The
  // compiles run on up to `threads` threads; the result does not depend on
  // how many.
  void build(std::vector<Atom>& atoms, const std::vector<std::vector<uint32_t>>& group_atoms,
             const std::function<std::vector<bool>()>& triggers = {}, unsigned threads = 1);

  size_t id_count() const { return id_count_; }
  // (group, field, regex) of a database; field kNoName: the group's keywords.
  using DbKey = std::tuple<uint32_t, NameId, bool>;

  // What one database is compiled from: the literal or regex entries of one
  // group's field (keywords: field kNoName), each with its flags and id. Kept
  // in the rule cache beside the database, so a database that cannot be
  // deserialised is compiled again, identical, instead of being lost.
  struct DbSource {
    std::vector<std::string> expressions;
    std::vector<unsigned> flags, ids;
    bool regex = false;
    std::string encode() const;
    bool decode(std::string_view bytes);  // false when damaged
  };
  // The open cache file a loaded set's databases are read from; closed with
  // the last set that uses it. Its times are no guide to its content: other
  // hunts refresh its mtime (most recently used) and prune it (ctime), so a
  // short read is what says it was cut, and vectorscan's CRC what says a
  // database was damaged.
  struct CacheFile {
    int fd = -1;
    explicit CacheFile(int f) : fd(f) {}
    ~CacheFile();
    CacheFile(const CacheFile&) = delete;
    CacheFile& operator=(const CacheFile&) = delete;
    // n bytes at `at` into a buffer of the calling thread, valid until its
    // next read; false when the file has fewer (shortened since).
    bool read(uint64_t at, uint64_t n, const char*& out) const;
  };
  // One database. A set loaded from the cache deserialises each at its first
  // use (an event touches a few groups: the SigmaHQ set has ~310 databases,
  // 11 MB, of which the attack-samples corpus needs 131); get() is safe from
  // any thread. `ordinal` numbers the databases 0..db_count()-1. Groups whose
  // field has the very same entries share one database (Sysmon's process
  // creation and Security 4688 hold the same rules: one CommandLine database
  // of 1.3 MB, not two): `keys` lists them.
  class Db {
   public:
    // nullptr only when it could be neither deserialised nor compiled.
    const hs_database_t* get() const {
      if (const hs_database_t* d = db_.load(std::memory_order_acquire)) return d;
      return load();
    }
    uint32_t ordinal() const { return ordinal_; }
    const std::vector<DbKey>& keys() const { return keys_; }

   private:
    friend class Prefilter;
    friend struct RuleCache;
    enum class State : uint8_t { Pending, Loaded, Rebuilt, Failed };
    const hs_database_t* load() const;  // the slow path: deserialise, or else compile
    uint32_t ordinal_ = 0;
    std::vector<DbKey> keys_;  // never empty
    mutable std::atomic<hs_database_t*> db_{nullptr};
    // Pending for a cached one until its first use; changed under `mutex_`
    // (one per database: workers loading different ones do not wait).
    mutable std::atomic<State> state_{State::Loaded};
    mutable std::mutex mutex_;
    // A cached one: where its serialised bytes and its DbSource (encoded) are
    // in the cache file, read with pread at its first use (not mapped: a file
    // shortened under a mapping would fault the process).
    const CacheFile* file_ = nullptr;
    uint64_t bytes_at_ = 0, bytes_size_ = 0, source_at_ = 0, source_size_ = 0;
    DbSource source_;  // when compiled here (written to the cache)
  };
  size_t db_count() const { return slots_.size(); }
  // The cache file a loaded set reads at first use (nullptr when compiled).
  const CacheFile* cache_file() const { return file_.get(); }
  // Literal database of a group's field, or nullptr; keyword atoms (no field) use keyword_db().
  const Db* db_for(uint32_t group, NameId field) const { return at(db_index_, group, field); }
  const Db* keyword_db(uint32_t group) const { return at(db_index_, group, kNoName); }
  // The regex database of a group's field (exact or prefilter mode), or nullptr.
  const Db* regex_db_for(uint32_t group, NameId field) const { return at(regex_db_index_, group, field); }
  // Databases of a cached set compiled again because their bytes in the cache
  // were damaged, and databases that could be neither loaded nor compiled
  // (their patterns never hit: their rules can be missed).
  size_t rebuilt_count() const { return count_in(Db::State::Rebuilt); }
  size_t pending_count() const { return count_in(Db::State::Pending); }  // not loaded yet
  size_t failed_count() const { return count_in(Db::State::Failed); }
  // Case-insensitive whole-value patterns of a field (EventID: 4688, LogonType: 3,
  // OriginalFileName: ...) need no scan: a lookup of the lower-case value gives
  // their ids. nullptr when the field has none.
  const EqualsTable* equals_for(NameId field) const {
    return field < equals_index_.size() ? equals_index_[field].get() : nullptr;
  }
  // Rebuilds the by-name lookup tables after build: the equality tables from
  // the patterns' ids, and the databases' index. A cache load brings its
  // equality tables and indexes the databases only.
  void index(const std::vector<Atom>& atoms);
  void index_databases();
  // A scratch space for every database (loading them all); a Matcher grows
  // its own as it meets databases instead.
  hs_scratch_t* new_scratch() const;

 private:
  friend struct RuleCache;
  // Index slot of a field: 0 is keywords (kNoName), fields from 1.
  static size_t slot(NameId field) { return field == kNoName ? 0 : size_t(field) + 1; }
  static const Db* at(const std::vector<std::vector<const Db*>>& index, uint32_t group, NameId field) {
    if (group >= index.size()) return nullptr;
    const size_t i = slot(field);
    return i < index[group].size() ? index[group][i] : nullptr;
  }
  size_t count_in(Db::State state) const;
  // A new database slot for the groups in `keys` (after build or a cache
  // load, index() lists them).
  Db& add_slot(std::vector<DbKey> keys);
  void free_databases();
  std::deque<Db> slots_;  // in key order; a deque, as a Db (atomic) cannot move
  std::vector<std::vector<const Db*>> db_index_, regex_db_index_;  // group -> slot -> database
  std::vector<std::unique_ptr<EqualsTable>> equals_index_;         // NameId -> table
  size_t id_count_ = 0;
  // A cached set's file: the databases not yet loaded are in it.
  std::shared_ptr<const CacheFile> file_;
};

// A literal shorter than this (`/c`, `-f`, a glob's `i`, an EventID `3`) is in
// nearly every value: scanning for it tells little and costs much, as
// vectorscan confirms a candidate at almost every byte (the process-creation
// CommandLine database took ~7 us a value with them in it). Unless a rule
// needs it as its trigger, it is left out of the databases and its pattern is
// checked exactly when the rule is evaluated; nor is it worth a second trigger.
inline constexpr size_t kShortLiteral = 3;

// Whether a pattern is looked up in its field's equality table rather than scanned.
inline bool by_equality(const Pattern& p) {
  return p.kind == Pattern::Kind::String && p.op == StrOp::Equals && !p.cased && !p.text.empty();
}

// A literal that every text matching the pattern contains: the pattern's own
// text, or a glob's longest run of plain bytes. The prefilter looks for it
// anywhere in the value (case-insensitively unless the pattern is cased); the
// exact matcher then confirms. Empty when the pattern has no literal to find.
std::string prefilter_literal(const Pattern& p);

// Literals for a regex: one of them is in every text the regex matches (found
// case-insensitively). Empty when no such set is known.
std::vector<std::string> regex_literals(const Pattern& p);

}  // namespace vigil::sigma
