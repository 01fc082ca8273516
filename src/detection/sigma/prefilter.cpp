#include "detection/sigma/prefilter.hpp"

#include <fmt/format.h>
#include <re2/filtered_re2.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "event/parallel.hpp"

namespace vigil::sigma {
namespace {

using Group = Prefilter::DbSource;

// Compiles a group; entries vectorscan refuses are taken out of `g` (every
// entry of the refused one's id: a regex may stand on several literals) and
// their ids go to `dropped`, so that afterwards `g` is what the database holds.
hs_database_t* compile(Group& g, std::vector<unsigned>& dropped) {
  while (!g.expressions.empty()) {
    std::vector<const char*> exprs;
    std::vector<size_t> lens;
    for (const auto& e : g.expressions) {
      exprs.push_back(e.c_str());
      lens.push_back(e.size());
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    const hs_error_t rc =
        g.regex ? hs_compile_multi(exprs.data(), g.flags.data(), g.ids.data(), static_cast<unsigned>(exprs.size()),
                                   HS_MODE_BLOCK, nullptr, &db, &err)
                : hs_compile_lit_multi(exprs.data(), g.flags.data(), g.ids.data(), lens.data(),
                                       static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db, &err);
    if (rc == HS_SUCCESS) return db;
    const int bad = err ? err->expression : -1;
    hs_free_compile_error(err);
    if (bad < 0 || static_cast<size_t>(bad) >= g.expressions.size()) {
      dropped.insert(dropped.end(), g.ids.begin(), g.ids.end());
      g = Group{{}, {}, {}, g.regex};
      return nullptr;
    }
    const unsigned gone = g.ids[static_cast<size_t>(bad)];
    dropped.push_back(gone);
    Group rest;
    rest.regex = g.regex;
    for (size_t i = 0; i < g.expressions.size(); ++i)
      if (g.ids[i] != gone) {
        rest.expressions.push_back(std::move(g.expressions[i]));
        rest.flags.push_back(g.flags[i]);
        rest.ids.push_back(g.ids[i]);
      }
    g = std::move(rest);
  }
  return nullptr;
}

bool compiles(const std::string& regex, unsigned flags) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile(regex.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return false;
  }
  hs_free_database(db);
  return true;
}

}  // namespace

std::string prefilter_literal(const Pattern& p) {
  if (p.kind != Pattern::Kind::String) return {};
  if (p.op != StrOp::Glob) return p.text;
  // The longest run of plain bytes between wildcards: every match contains it.
  std::string best, run;
  for (uint16_t t : p.glob) {
    if (t < 256) {
      run += static_cast<char>(t);
      continue;
    }
    if (run.size() > best.size()) best = run;
    run.clear();
  }
  return run.size() > best.size() ? run : best;
}

std::vector<std::string> regex_literals(const Pattern& p) {
  if (p.kind != Pattern::Kind::Regex) return {};
  re2::FilteredRE2 filter(3);
  RE2::Options o;
  o.set_log_errors(false);
  o.set_case_sensitive(p.cased);
  o.set_dot_nl(p.dot_nl);
  int index = -1;
  if (filter.Add(p.text, o, &index) != RE2::NoError) return {};
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  std::vector<int> potential;
  filter.AllPotentials({}, &potential);
  if (!potential.empty() || atoms.empty()) return {};  // "unfiltered": no literal is required
  // An atom without which the regex cannot match is enough on its own; keep the
  // longest such. Otherwise a match needs some of them: any one will do.
  std::vector<int> rest;
  size_t best = atoms.size();
  for (size_t i = 0; i < atoms.size(); ++i) {
    rest.clear();
    for (size_t k = 0; k < atoms.size(); ++k)
      if (k != i) rest.push_back(static_cast<int>(k));
    potential.clear();
    filter.AllPotentials(rest, &potential);
    if (potential.empty() && (best == atoms.size() || atoms[i].size() > atoms[best].size())) best = i;
  }
  if (best < atoms.size()) return {atoms[best]};
  return atoms;
}

std::string Prefilter::DbSource::encode() const {
  std::string out;
  auto u32 = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  out += static_cast<char>(regex ? 1 : 0);
  u32(static_cast<uint32_t>(expressions.size()));
  for (size_t i = 0; i < expressions.size(); ++i) {
    u32(flags[i]);
    u32(ids[i]);
    u32(static_cast<uint32_t>(expressions[i].size()));
    out += expressions[i];
  }
  return out;
}

bool Prefilter::DbSource::decode(std::string_view b) {
  *this = DbSource{};
  size_t at = 0;
  auto u32 = [&](uint32_t& v) {
    if (b.size() - at < 4) return false;
    std::memcpy(&v, b.data() + at, 4);
    at += 4;
    return true;
  };
  if (b.empty() || static_cast<uint8_t>(b[0]) > 1) return false;
  regex = b[0] == 1;
  at = 1;
  uint32_t n = 0;
  if (!u32(n) || n > (b.size() - at) / 12) return false;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t f = 0, id = 0, len = 0;
    if (!u32(f) || !u32(id) || !u32(len) || len > b.size() - at) return false;
    flags.push_back(f);
    ids.push_back(id);
    expressions.emplace_back(b.substr(at, len));
    at += len;
  }
  return at == b.size();
}

Prefilter::CacheFile::~CacheFile() {
  if (fd >= 0) ::close(fd);
}

namespace {

// Maps the whole pages of a fresh block in one call (MADV_POPULATE_WRITE)
// instead of one fault each at their first touch: on the development VM
// 0.7 µs a page plus ~5 µs at the first touch, against ~11 µs. A hint, for
// blocks of a few pages or more; ignored by kernels before 5.14.
void prefault(void* p, size_t n) {
#ifdef MADV_POPULATE_WRITE
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + 4095) & ~uintptr_t(4095);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~uintptr_t(4095);
  if (end >= begin + 4 * 4096) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)p, (void)n;
#endif
}

// hs_deserialize_database into a block allocated and prefaulted here: the
// databases an event source needs are ~8 MB of fresh memory (SigmaHQ, the
// attack samples), and their first-use deserialisation was mostly page
// faults (20-40 ms of a hunt). The block is malloc's, as vectorscan's own
// allocator would have given it, so hs_free_database frees it.
bool deserialise(const char* bytes, size_t n, hs_database_t*& db) {
  size_t need = 0;
  if (hs_serialized_database_size(bytes, n, &need) != HS_SUCCESS) return false;
  void* block = std::malloc(need);
  if (!block) return false;
  prefault(block, need);
  if (hs_deserialize_database_at(bytes, n, static_cast<hs_database_t*>(block)) != HS_SUCCESS) {
    std::free(block);
    return false;
  }
  db = static_cast<hs_database_t*>(block);
  return true;
}

}  // namespace

// The buffer is kept for the next read: a fresh one each time would take its
// pages from the kernel again (3-11 µs a 4 KiB page on the development VMs,
// more than copying into it), and zeroing it first would cost as much as
// deserialising a database.
bool Prefilter::CacheFile::read(uint64_t at, uint64_t n, const char*& out) const {
  thread_local std::unique_ptr<char[]> buffer;
  thread_local uint64_t capacity = 0;
  if (n > capacity) {
    capacity = std::max<uint64_t>(n, capacity * 2);
    buffer.reset(new char[capacity]);
    prefault(buffer.get(), capacity);
  }
  out = buffer.get();
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buffer.get() + done, n - done, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

const hs_database_t* Prefilter::Db::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_.load() != State::Pending) return db_.load(std::memory_order_relaxed);
  hs_database_t* db = nullptr;
  State state = State::Loaded;
  const char* bytes = nullptr;
  if (!file_) {
    state = State::Failed;
  } else if (!file_->read(bytes_at_, bytes_size_, bytes) ||
             !deserialise(bytes, bytes_size_, db)) {
    // Damaged in the cache (vectorscan checks its bytes): compile it again
    // from its source, which our checksum covered when the set was loaded.
    db = nullptr;
    DbSource source;
    std::vector<unsigned> dropped;
    if (file_->read(source_at_, source_size_, bytes) &&
        source.decode(std::string_view(bytes, source_size_)))
      db = compile(source, dropped);
    state = db && dropped.empty() ? State::Rebuilt : State::Failed;
  }
  db_.store(db, std::memory_order_release);
  state_.store(state);
  return db;
}

size_t Prefilter::count_in(Db::State state) const {
  size_t n = 0;
  for (const Db& d : slots_) n += d.state_.load() == state;
  return n;
}

Prefilter::Db& Prefilter::add_slot(std::vector<DbKey> keys) {
  Db& d = slots_.emplace_back();
  d.ordinal_ = static_cast<uint32_t>(slots_.size() - 1);
  d.keys_ = std::move(keys);
  return d;
}

Prefilter::~Prefilter() { free_databases(); }

void Prefilter::free_databases() {
  for (Db& d : slots_)
    if (hs_database_t* db = d.db_.load()) hs_free_database(db);
  slots_.clear();
  db_index_.clear();
  regex_db_index_.clear();
  file_.reset();
}

void Prefilter::build(std::vector<Atom>& atoms, const std::vector<std::vector<uint32_t>>& group_atoms,
                      const std::function<std::vector<bool>()>& triggers, unsigned threads) {
  free_databases();

  // What each atom puts in the databases of the groups that use it: identical
  // expressions (same field, text, case rule) share one id everywhere.
  struct Entry {
    std::string expression;
    unsigned flags;
    uint32_t id;
    bool regex;
  };
  std::vector<std::vector<Entry>> entries(atoms.size());
  std::map<std::tuple<NameId, std::string, bool>, uint32_t> ids;
  uint32_t next = 0;
  for (size_t ai = 0; ai < atoms.size(); ++ai) {
    Atom& a = atoms[ai];
    for (Pattern& p : a.patterns) {
      p.prefilter = kNoPrefilter;
      p.prefilter_exact = false;
      const std::string e = prefilter_literal(p);
      if (e.empty()) continue;
      const auto key = std::make_tuple(a.field, e, p.cased);
      auto it = ids.find(key);
      if (it == ids.end()) it = ids.emplace(key, next++).first;
      p.prefilter = it->second;
      if (a.field != kNoName && by_equality(p)) continue;  // in the equality table, not scanned
      entries[ai].push_back({e, HS_FLAG_SINGLEMATCH | (p.cased ? 0u : HS_FLAG_CASELESS), it->second, false});
    }
  }
  // Regular expressions: one id each, entered under every literal that may stand
  // for it. Vectorscan runs PCRE-style regexes itself, in one pass with all
  // the field's others: then its answer is final. What it cannot run exactly
  // it runs in prefilter mode, or as the regex's required literals, and RE2
  // confirms. Whether it can is a compile of each regex: on the threads.
  struct RegexEntry {
    Pattern* p;
    size_t atom;
    unsigned flags;
    bool exact = false;
  };
  std::vector<RegexEntry> regexes;
  for (size_t ai = 0; ai < atoms.size(); ++ai) {
    Atom& a = atoms[ai];
    if (a.field == kNoName) continue;
    for (Pattern& p : a.patterns) {
      if (p.kind != Pattern::Kind::Regex) continue;
      p.prefilter = next++;
      p.prefilter_exact = false;
      regexes.push_back({&p, ai, HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (p.cased ? 0u : HS_FLAG_CASELESS) |
                                     (p.dot_nl ? HS_FLAG_DOTALL : 0u)});
    }
  }
  parallel_for(regexes.size(), threads,
               [&](size_t k) { regexes[k].exact = compiles(regexes[k].p->text, regexes[k].flags); });
  for (const RegexEntry& r : regexes) {
    Pattern& p = *r.p;
    if (r.exact) {
      p.prefilter_exact = true;
      entries[r.atom].push_back({p.text, r.flags, p.prefilter, true});
      continue;
    }
    const auto literals = regex_literals(p);
    if (literals.empty()) {
      entries[r.atom].push_back({p.text, r.flags | HS_FLAG_PREFILTER, p.prefilter, true});
      continue;
    }
    for (const auto& lit : literals)
      entries[r.atom].push_back({lit, HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS, p.prefilter, false});
  }
  id_count_ = next;

  // Short literals no rule is triggered by: out of the databases, and their
  // patterns unfiltered (an id shared by several patterns goes for all).
  const std::vector<bool> needed = triggers ? triggers() : std::vector<bool>{};
  std::vector<bool> short_unneeded(next, false);
  for (size_t ai = 0; ai < atoms.size(); ++ai)
    for (const Entry& e : entries[ai])
      if (!e.regex && e.expression.size() < kShortLiteral && !(e.id < needed.size() && needed[e.id]))
        short_unneeded[e.id] = true;
  for (size_t ai = 0; ai < atoms.size(); ++ai) {
    auto& list = entries[ai];
    list.erase(std::remove_if(list.begin(), list.end(), [&](const Entry& e) { return short_unneeded[e.id]; }),
               list.end());
    for (Pattern& p : atoms[ai].patterns)
      if (p.prefilter != kNoPrefilter && short_unneeded[p.prefilter]) p.prefilter = kNoPrefilter;
  }

  // Each group's databases: the entries of its atoms, by field. Groups with
  // the same entries for a field (the same rules under two log sources) share
  // the database compiled for the first. The compiles, most of a cold start,
  // run on the threads; the databases take their slots in this order after.
  struct Compile {
    std::vector<DbKey> keys;  // the first group's, then those sharing it
    Group group;
    hs_database_t* db = nullptr;
    std::vector<unsigned> dropped;
  };
  std::vector<Compile> compiles_to_do;
  std::unordered_map<std::string, size_t> by_source;  // encoded source -> its compile
  for (uint32_t g = 0; g < group_atoms.size(); ++g) {
    std::map<std::pair<NameId, bool>, Group> groups;
    std::set<std::tuple<NameId, bool, uint32_t, std::string>> seen;
    for (uint32_t ai : group_atoms[g]) {
      if (ai >= atoms.size()) continue;
      for (const Entry& e : entries[ai]) {
        if (!seen.emplace(atoms[ai].field, e.regex, e.id, e.expression).second) continue;
        Group& grp = groups[{atoms[ai].field, e.regex}];
        grp.regex = e.regex;
        grp.expressions.push_back(e.expression);
        grp.flags.push_back(e.flags);
        grp.ids.push_back(e.id);
      }
    }
    for (auto& [key, grp] : groups) {
      const DbKey db_key{g, key.first, key.second};
      std::string source = grp.encode();  // what vectorscan is given (compile may take entries out)
      if (auto same = by_source.find(source); same != by_source.end()) {
        compiles_to_do[same->second].keys.push_back(db_key);
        continue;
      }
      by_source.emplace(std::move(source), compiles_to_do.size());
      Compile& c = compiles_to_do.emplace_back();
      c.keys.push_back(db_key);
      c.group = std::move(grp);
    }
  }
  // The largest first, so that no thread is left with one at the end.
  std::vector<size_t> order(compiles_to_do.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return compiles_to_do[a].group.expressions.size() > compiles_to_do[b].group.expressions.size();
  });
  parallel_for(order.size(), threads, [&](size_t k) {
    Compile& c = compiles_to_do[order[k]];
    c.db = compile(c.group, c.dropped);
  });
  std::vector<unsigned> dropped;
  for (Compile& c : compiles_to_do) {
    dropped.insert(dropped.end(), c.dropped.begin(), c.dropped.end());
    if (!c.db) continue;
    Db& d = add_slot(std::move(c.keys));
    d.db_.store(c.db);
    d.source_ = std::move(c.group);
  }
  if (!dropped.empty()) {
    // Patterns vectorscan would not take are matched without the prefilter.
    std::vector<bool> gone(next, false);
    for (unsigned id : dropped) gone[id] = true;
    for (Atom& a : atoms)
      for (Pattern& p : a.patterns)
        if (p.prefilter != kNoPrefilter && gone[p.prefilter]) {
          p.prefilter = kNoPrefilter;
          p.prefilter_exact = false;
        }
  }
  index(atoms);
}

void Prefilter::index(const std::vector<Atom>& atoms) {
  equals_index_.clear();
  // (field, text, id) of every equality pattern, each once, grouped by field and text.
  std::vector<std::tuple<NameId, std::string_view, uint32_t>> entries;
  for (const Atom& a : atoms) {
    if (a.field == kNoName) continue;
    for (const Pattern& p : a.patterns)
      if (by_equality(p) && p.prefilter != kNoPrefilter) entries.emplace_back(a.field, p.text, p.prefilter);
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < entries.size();) {
    const auto& [field, text, id] = entries[i];
    ids.clear();
    size_t j = i;
    for (; j < entries.size() && std::get<0>(entries[j]) == field && std::get<1>(entries[j]) == text; ++j)
      ids.push_back(std::get<2>(entries[j]));
    if (field >= equals_index_.size()) equals_index_.resize(field + 1);
    if (!equals_index_[field]) equals_index_[field] = std::make_unique<EqualsTable>();
    equals_index_[field]->add(text, ids);
    i = j;
  }
  for (auto& table : equals_index_)
    if (table) table->finish();  // each text came once
  index_databases();
}

void Prefilter::index_databases() {
  db_index_.clear();
  regex_db_index_.clear();
  for (const Db& d : slots_)
    for (const auto& [group, field, regex] : d.keys_) {
      auto& index = regex ? regex_db_index_ : db_index_;
      if (group >= index.size()) index.resize(group + 1);
      const size_t i = slot(field);
      if (i >= index[group].size()) index[group].resize(i + 1, nullptr);
      index[group][i] = &d;
    }
}

hs_scratch_t* Prefilter::new_scratch() const {
  hs_scratch_t* s = nullptr;
  for (const Db& d : slots_)
    if (const hs_database_t* db = d.get()) hs_alloc_scratch(db, &s);
  return s;
}

}  // namespace vigil::sigma
