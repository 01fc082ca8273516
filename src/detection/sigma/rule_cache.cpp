#include "detection/sigma/rule_cache.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__)
// XXH3 over megabytes (the cache file, the manifest, rule files): the library's
// runtime dispatch uses AVX2 where the CPU has it (same hashes, ~2x faster).
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <span>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "detection/sigma/rule_files.hpp"
#include "detection/sigma/ruleset.hpp"
#include "event/text.hpp"

namespace vigil::sigma {
namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'R', 'C', '1'};
// Bump when the layout of anything serialised here changes.
constexpr uint32_t kFormat = 21;
// magic, format, key, payload length, payload checksum, and where in the
// payload the atoms and the databases start (so that a second thread can
// decode the rules and the databases while the first decodes the rest).
constexpr size_t kHeader = 8 + 4 + 8 + 8 + 8 + 8 + 8;

class Writer {
 public:
  void u8(uint8_t v) { buf_ += static_cast<char>(v); }
  void u32(uint32_t v) { buf_.append(reinterpret_cast<const char*>(&v), 4); }
  void u64(uint64_t v) { buf_.append(reinterpret_cast<const char*>(&v), 8); }
  void f64(double v) { buf_.append(reinterpret_cast<const char*>(&v), 8); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    buf_.append(s);
  }
  void strs(const std::vector<std::string>& v) {
    u32(static_cast<uint32_t>(v.size()));
    for (const auto& s : v) str(s);
  }
  void u32s(std::span<const uint32_t> v) {
    u32(static_cast<uint32_t>(v.size()));
    for (uint32_t x : v) u32(x);
  }
  void name(NameId id) { str(id == kNoName ? std::string_view("\x01") : name_text(id)); }
  void bytes(const void* p, size_t n) {
    if (n) buf_.append(static_cast<const char*>(p), n);
  }
  std::string& buf() { return buf_; }

 private:
  std::string buf_;
};

// Every read is bounds-checked; after the first failure all reads return zero
// values and ok() stays false.
class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), end_(p + n) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  uint8_t u8() {
    uint8_t v = 0;
    take(&v, 1);
    return v;
  }
  uint32_t u32() {
    uint32_t v = 0;
    take(&v, 4);
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    take(&v, 8);
    return v;
  }
  double f64() {
    double v = 0;
    take(&v, 8);
    return v;
  }
  std::string str() { return std::string(view()); }
  // A string without copying it: valid as long as the file is mapped.
  std::string_view view() {
    const uint32_t n = u32();
    if (!ok_ || n > static_cast<size_t>(end_ - p_)) {
      ok_ = false;
      return {};
    }
    const std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  // A count of items each at least `min_size` bytes: bounded by what is left.
  uint32_t count(size_t min_size = 1) {
    const uint32_t n = u32();
    if (!ok_ || static_cast<uint64_t>(n) * min_size > static_cast<uint64_t>(end_ - p_)) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  std::vector<std::string> strs() {
    std::vector<std::string> v;
    strs(v);
    return v;
  }
  void strs(std::vector<std::string>& v) {
    v.resize(count(4));
    for (auto& s : v) s = view();
  }
  std::vector<uint32_t> u32s() {
    std::vector<uint32_t> v(count(4));
    for (auto& x : v) x = u32();
    return v;
  }
  void fail() { ok_ = false; }
  // The next n bytes in place (one bounds check for a run of fixed-size
  // fields); nullptr after a failure.
  const uint8_t* raw(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return nullptr;
    }
    const auto* r = reinterpret_cast<const uint8_t*>(p_);
    p_ += n;
    return r;
  }

 private:
  void take(void* out, size_t n) {
    if (n == 0) return;  // `out` may be null (an empty vector's data())
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return;
    }
    std::memcpy(out, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// A rule is stored in two parts: a head every load reads (its level, for
// --min-level, and where its piece is) and a piece with its texts, kept in
// the file until something needs the rule (RuleSet::rule).
// A piece is these strings in this order, then the four lists.
template <class R>
auto rule_texts(R& r) {
  return std::array{&r.id,   &r.name,        &r.title,  &r.status, &r.logsource.product, &r.logsource.category,
                    &r.logsource.service, &r.path, &r.description, &r.author, &r.date, &r.modified, &r.license};
}

constexpr size_t kRuleTexts = std::tuple_size_v<decltype(rule_texts(std::declval<const Rule&>()))>;

void write_rule_piece(Writer& w, const Rule& r) {
  for (const std::string* s : rule_texts(r)) w.str(*s);
  w.strs(r.tags);
  w.strs(r.references);
  w.strs(r.falsepositives);
  w.strs(r.fields);
}

// Whether a rule's piece is well formed, without decoding it.
bool rule_piece_well_formed(std::string_view bytes) {
  Reader rd(bytes.data(), bytes.size());
  for (size_t i = 0; i < kRuleTexts; ++i) rd.view();
  for (int list = 0; list < 4; ++list)
    for (uint32_t k = 0, n = rd.count(4); k < n; ++k) rd.view();
  return rd.ok() && rd.at_end();
}

// The names atoms refer to (their fields, field references) are numbered in
// the order first met and stored once; a cached set interns them all at load,
// in that order, before any atom is decoded (so name ids never depend on
// which atoms the events needed first).
constexpr uint32_t kNoNameNo = 0xFFFFFFFFu;
class NameNumbers {
 public:
  uint32_t operator()(NameId id) {
    if (id == kNoName) return kNoNameNo;
    auto [it, fresh] = number_.emplace(id, static_cast<uint32_t>(names_.size()));
    if (fresh) names_.push_back(id);
    return it->second;
  }
  const std::vector<NameId>& names() const { return names_; }

 private:
  std::unordered_map<NameId, uint32_t> number_;
  std::vector<NameId> names_;
};

// A pattern: kind, op, flags, group, prefilter id and text, then only the
// parts its flags say it has (most patterns are plain strings: ~25 bytes
// with their text, where every part written out took ~70).
enum PatternFlag : uint8_t {
  kCased = 1,
  kDotNl = 2,
  kPrefilterExact = 4,
  kExists = 8,
  kHasGlob = 16,
  kHasNumber = 32,   // cmp, part, number
  kHasAddress = 64,  // family, prefix, addr
  kHasRef = 128,
};
constexpr size_t kPatternHead = 3 + 2 + 4;  // kind, op, flags; group; prefilter
constexpr size_t kMinPattern = kPatternHead + 4;  // and the text's length

void write_pattern(Writer& w, const Pattern& p, NameNumbers& numbers) {
  uint64_t number_bits;
  std::memcpy(&number_bits, &p.number, 8);
  const bool has_number = p.cmp != Cmp::Eq || p.part != TimePart::None || number_bits != 0;
  bool has_address = p.family != 0 || p.prefix != 0;
  for (uint8_t b : p.addr) has_address = has_address || b != 0;
  const uint8_t flags = (p.cased ? kCased : 0) | (p.dot_nl ? kDotNl : 0) | (p.prefilter_exact ? kPrefilterExact : 0) |
                        (p.exists ? kExists : 0) | (p.glob.empty() ? 0 : kHasGlob) | (has_number ? kHasNumber : 0) |
                        (has_address ? kHasAddress : 0) | (p.ref != kNoName ? kHasRef : 0);
  w.u8(static_cast<uint8_t>(p.kind));
  w.u8(static_cast<uint8_t>(p.op));
  w.u8(flags);
  w.bytes(&p.group, 2);
  w.u32(p.prefilter);
  w.str(p.text);
  if (flags & kHasGlob) {
    w.u32(static_cast<uint32_t>(p.glob.size()));
    w.bytes(p.glob.data(), p.glob.size() * sizeof(uint16_t));
  }
  if (flags & kHasNumber) {
    w.u8(static_cast<uint8_t>(p.cmp));
    w.u8(static_cast<uint8_t>(p.part));
    w.f64(p.number);
  }
  if (flags & kHasAddress) {
    w.u8(p.family);
    w.u8(p.prefix);
    w.bytes(p.addr, sizeof p.addr);
  }
  if (flags & kHasRef) w.u32(numbers(p.ref));
}

// Reads what write_pattern wrote into `p`, or with `p` null only checks it
// (at load, for every pattern: a lazily decoded atom then cannot fail).
void read_pattern(Reader& rd, const std::vector<NameId>& names, size_t prefilter_ids, Pattern* p) {
  const uint8_t* h = rd.raw(kPatternHead);
  if (!h) return;
  if (h[0] > static_cast<uint8_t>(Pattern::Kind::Never) || h[1] > static_cast<uint8_t>(StrOp::Glob)) rd.fail();
  const uint8_t flags = h[2];
  uint16_t group;
  uint32_t prefilter;
  std::memcpy(&group, h + 3, 2);
  std::memcpy(&prefilter, h + 5, 4);
  if (prefilter != kNoPrefilter && prefilter >= prefilter_ids) rd.fail();
  const std::string_view text = rd.view();
  const uint8_t* glob = nullptr;
  size_t glob_size = 0;
  if (flags & kHasGlob) {
    glob_size = rd.count(2);
    glob = rd.raw(glob_size * sizeof(uint16_t));
    for (size_t k = 0; glob && k < glob_size; ++k) {
      uint16_t t;
      std::memcpy(&t, glob + 2 * k, 2);
      if (t > kGlobDash) rd.fail();
    }
  }
  const uint8_t* number = (flags & kHasNumber) ? rd.raw(2 + 8) : nullptr;
  if (number && (number[0] > static_cast<uint8_t>(Cmp::Gte) || number[1] > static_cast<uint8_t>(TimePart::Year)))
    rd.fail();
  const uint8_t* address = (flags & kHasAddress) ? rd.raw(2 + 16) : nullptr;
  if (address && address[1] > 128) rd.fail();
  uint32_t ref = kNoNameNo;
  if (flags & kHasRef) {
    ref = rd.u32();
    if (ref >= names.size()) rd.fail();
  }
  if (!p || !rd.ok()) return;
  p->kind = static_cast<Pattern::Kind>(h[0]);
  p->op = static_cast<StrOp>(h[1]);
  p->cased = flags & kCased;
  p->dot_nl = flags & kDotNl;
  p->prefilter_exact = flags & kPrefilterExact;
  p->exists = flags & kExists;
  p->group = group;
  p->prefilter = prefilter;
  p->text = text;
  if (glob) {
    p->glob.resize(glob_size);
    std::memcpy(p->glob.data(), glob, glob_size * sizeof(uint16_t));
  }
  if (number) {
    p->cmp = static_cast<Cmp>(number[0]);
    p->part = static_cast<TimePart>(number[1]);
    std::memcpy(&p->number, number + 2, 8);
  }
  if (address) {
    p->family = address[0];
    p->prefix = address[1];
    std::memcpy(p->addr, address + 2, sizeof p->addr);
  }
  if (ref != kNoNameNo) p->ref = names[ref];
  if (p->kind == Pattern::Kind::Regex) p->re = std::make_shared<const LazyRegex>(p->text, p->cased, p->dot_nl);
}

void write_variant(Writer& w, const Variant& v) {
  w.u32(v.rule);
  w.u32(static_cast<uint32_t>(v.program.nodes.size()));
  for (const Expr& e : v.program.nodes) {
    w.u8(static_cast<uint8_t>(e.op));
    w.u32(e.a);
    w.u32(e.b);
  }
  w.u32s(v.program.kids);
  w.u32(v.program.root);
  w.u32(static_cast<uint32_t>(v.program.selections.size()));
  for (const auto& [name, node] : v.program.selections) {
    w.str(name);
    w.u32(node);
  }
  w.str(v.provider);
  w.u32s(v.trigger);
  w.u32s(v.trigger2);
  w.u8(v.always);
}

// A run of u32s in place: its count and bytes (nullptr after a failure).
const uint8_t* u32_run(Reader& rd, uint32_t& n) {
  n = rd.count(4);
  return rd.raw(size_t(n) * 4);
}
uint32_t u32_at(const uint8_t* p, size_t k) {
  uint32_t x;
  std::memcpy(&x, p + 4 * k, 4);
  return x;
}

// Reads what write_variant wrote into `v`, or with `v` null only checks it
// (at load, for every variant): structural checks, so that a damaged file
// cannot make the matcher read astray.
void read_variant_body(Reader& rd, size_t rules, size_t atoms, size_t prefilter_ids, Variant* v) {
  const uint32_t rule = rd.u32();
  if (rule >= rules) rd.fail();
  const uint32_t n = rd.count(9);
  const uint8_t* nodes = rd.raw(size_t(n) * 9);
  uint32_t kid_count;
  const uint8_t* kids = u32_run(rd, kid_count);
  const uint32_t root = rd.u32();
  if (!rd.ok()) return;
  if (root >= n) rd.fail();
  for (uint32_t k = 0; k < n; ++k) {
    const uint8_t op = nodes[9 * k];
    uint32_t a, b;
    std::memcpy(&a, nodes + 9 * k + 1, 4);
    std::memcpy(&b, nodes + 9 * k + 5, 4);
    if (op > static_cast<uint8_t>(Expr::Op::False)) rd.fail();
    if (op == static_cast<uint8_t>(Expr::Op::Atom) && a >= atoms) rd.fail();
    if (op == static_cast<uint8_t>(Expr::Op::Not) && a >= n) rd.fail();
    if ((op == static_cast<uint8_t>(Expr::Op::And) || op == static_cast<uint8_t>(Expr::Op::Or)) &&
        static_cast<uint64_t>(a) + b > kid_count)
      rd.fail();
  }
  for (uint32_t k = 0; k < kid_count; ++k)
    if (u32_at(kids, k) >= n) rd.fail();
  if (v) {
    v->rule = rule;
    v->program.nodes.resize(n);
    for (uint32_t k = 0; k < n; ++k) {
      Expr& e = v->program.nodes[k];
      e.op = static_cast<Expr::Op>(nodes[9 * k]);
      std::memcpy(&e.a, nodes + 9 * k + 1, 4);
      std::memcpy(&e.b, nodes + 9 * k + 5, 4);
    }
    v->program.kids.resize(kid_count);
    if (kid_count) std::memcpy(v->program.kids.data(), kids, size_t(kid_count) * 4);
    v->program.root = root;
  }
  const uint32_t selections = rd.count(8);
  if (v) v->program.selections.resize(selections);
  for (uint32_t k = 0; k < selections && rd.ok(); ++k) {
    const std::string_view name = rd.view();
    const uint32_t node = rd.u32();
    if (node >= n) rd.fail();
    if (v) v->program.selections[k] = {std::string(name), node};
  }
  const std::string_view provider = rd.view();
  uint32_t t1, t2;
  const uint8_t* trigger = u32_run(rd, t1);
  const uint8_t* trigger2 = u32_run(rd, t2);
  const uint8_t always = rd.u8();
  if (!rd.ok()) return;
  for (uint32_t k = 0; k < t1; ++k)
    if (u32_at(trigger, k) >= prefilter_ids) rd.fail();
  for (uint32_t k = 0; k < t2; ++k)
    if (u32_at(trigger2, k) >= prefilter_ids) rd.fail();
  if (always > 1) rd.fail();
  if (!v || !rd.ok()) return;
  v->provider = provider;
  v->trigger.resize(t1);
  if (t1) std::memcpy(v->trigger.data(), trigger, size_t(t1) * 4);
  v->trigger2.resize(t2);
  if (t2) std::memcpy(v->trigger2.data(), trigger2, size_t(t2) * 4);
  v->always = always;
}

void write_db(Writer& w, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t len = 0;
  if (!db || hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
    w.str("");
    return;
  }
  w.str(std::string_view(bytes, len));
  std::free(bytes);
}

// The file's checksum: XXH3 of the payload except the bulk of each database's
// serialised bytes (`skip`: offset and length in the payload, ascending; see
// db_bulk). Vectorscan checks its bytecode itself (a CRC32C) when it
// deserialises it, at the database's first use; one that fails is compiled
// again from its source (Prefilter::DbSource, covered here). Hashing the
// bytecode here too would read all ~20 MB of the databases that every SigmaHQ
// rule makes at each start, when a hunt uses about half of them.
uint64_t payload_checksum(const char* payload, size_t len, const std::vector<std::pair<size_t, size_t>>& skip) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  size_t at = 0;
  for (const auto& [offset, n] : skip) {
    XXH3_64bits_update(st, payload + at, offset - at);
    at = offset + n;
  }
  XXH3_64bits_update(st, payload + at, len - at);
  const uint64_t sum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return sum;
}

// The part of a serialised database left out of the checksum: all but its
// first 64 and last 128 bytes. Vectorscan's CRC covers its bytecode only: not
// the 32-byte header (it checks the magic, version, length and platform, but
// not bytes 24-31) nor the 72 bytes of padding it writes after the bytecode
// (found by flipping every byte of databases of 1 KB to 1.3 MB). Those bytes
// are unused, but a damaged file is never taken as it is.
std::pair<size_t, size_t> db_bulk(size_t offset, size_t size) {
  constexpr size_t kHead = 64, kTail = 128;
  if (size <= kHead + kTail) return {offset, 0};
  return {offset + kHead, size - kHead - kTail};
}

struct SerialisedDb {
  struct Key {
    uint32_t group;
    std::string_view field;  // interned by the caller, in order (ids must not depend on threads)
    bool regex;
  };
  std::vector<Key> keys;    // the groups that share it
  std::string_view bytes;   // vectorscan's serialised database (checked by vectorscan)
  std::string_view source;  // Prefilter::DbSource, encoded
};

}  // namespace

// A read-only mapping of a whole cache file, unmapped and closed on scope exit.
// Our writers never change a cache file in place (they rename a new one over
// it), so the mapping cannot shrink under the reader.
class MappedCacheFile {
 public:
  explicit MappedCacheFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return;
    size_ = static_cast<size_t>(st.st_size);
    // Not populated: the databases at its end are read only when an event
    // needs them (see populate()).
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      size_ = 0;
      return;
    }
    data_ = static_cast<const char*>(p);
  }
  ~MappedCacheFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedCacheFile(const MappedCacheFile&) = delete;
  MappedCacheFile& operator=(const MappedCacheFile&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  // Maps the first n bytes (page-cached) in one call, instead of a fault
  // every few pages as they are read. A hint.
  void populate(size_t n) const {
#ifdef MADV_POPULATE_READ
    if (data_) ::madvise(const_cast<char*>(data_), std::min(n, size_), MADV_POPULATE_READ);
#else
    (void)n;
#endif
  }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

bool RuleCache::read_rule(std::string_view bytes, Rule& r) {
  Reader rd(bytes.data(), bytes.size());
  for (std::string* s : rule_texts(r)) *s = rd.view();
  rd.strs(r.tags);
  rd.strs(r.references);
  rd.strs(r.falsepositives);
  rd.strs(r.fields);
  return rd.ok() && rd.at_end();
}

uint64_t RuleCache::content_hash(std::string_view content) { return XXH3_64bits(content.data(), content.size()); }

uint64_t RuleCache::key(const RuleSet& rules, const std::vector<HashedFile>& files) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  auto add = [&](std::string_view s) {
    const uint64_t n = s.size();
    XXH3_64bits_update(st, &n, sizeof n);
    XXH3_64bits_update(st, s.data(), s.size());
  };
  add(std::string_view(kMagic, sizeof kMagic));
  add(std::to_string(kFormat));
  // A rebuilt binary may compile rules differently: the running executable's
  // identity is part of the key.
  {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto size = ec ? 0 : std::filesystem::file_size(exe, ec);
    const auto mtime = ec ? 0 : std::filesystem::last_write_time(exe, ec).time_since_epoch().count();
    add(exe.string());
    add(std::to_string(size) + "/" + std::to_string(mtime));
  }
  add(hs_version());
  add(rules.options_.logsources ? rules.options_.logsources->source_text() : std::string());
  for (const auto& [name, values] : rules.options_.placeholders) {
    add(name);
    for (const auto& v : values) add(v);
  }
  for (const HashedFile& f : files) {
    add(f.path);
    XXH3_64bits_update(st, &f.hash, sizeof f.hash);
  }
  const uint64_t k = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return k;
}

std::string RuleCache::path(const std::string& dir, uint64_t key) { return fmt::format("{}/rules-{:016x}.bin", dir, key); }

bool RuleCache::save(const RuleSet& rs, const std::string& file, uint64_t key) {
  Writer w;
  w.u32(static_cast<uint32_t>(rs.rule_count()));
  Writer pieces;
  for (size_t i = 0; i < rs.rule_count(); ++i) {
    const Rule& r = rs.rule(i);  // a cached set's are read
    w.u8(static_cast<uint8_t>(r.level));
    w.u8(r.level_given);
    w.u32(static_cast<uint32_t>(r.document));
    const size_t at = pieces.buf().size();
    write_rule_piece(pieces, r);
    w.u32(static_cast<uint32_t>(at));
    w.u32(static_cast<uint32_t>(pieces.buf().size() - at));
  }
  w.str(pieces.buf());
  w.u32(static_cast<uint32_t>(rs.problems_.size()));
  for (const RuleProblem& p : rs.problems_) {
    w.str(p.path);
    w.u32(static_cast<uint32_t>(p.document));
    w.str(p.rule);
    w.str(p.field);
    w.str(p.message);
    w.u8(p.warning);
  }
  // The atoms: the names they refer to, a header each (field, all, negate,
  // where its patterns are), their patterns in one block (decoded lazily, see
  // RuleSet::atom) and the fields' equality tables (built from the patterns,
  // so stored: a load does not touch the patterns).
  const uint64_t atoms_at = w.buf().size();
  NameNumbers numbers;
  Writer patterns;
  std::vector<std::pair<uint32_t, uint32_t>> atom_at;  // offset in `patterns`, count
  for (uint32_t i = 0; i < rs.atoms_.size(); ++i) {
    const Atom& a = rs.atom(i);
    numbers(a.field);
    atom_at.emplace_back(static_cast<uint32_t>(patterns.buf().size()), static_cast<uint32_t>(a.patterns.size()));
    for (const Pattern& p : a.patterns) write_pattern(patterns, p, numbers);
  }
  Writer equals;
  uint32_t tables = 0;
  for (size_t field = 0; field < rs.prefilter_.equals_index_.size(); ++field) {
    const EqualsTable* table = rs.prefilter_.equals_index_[field].get();
    if (!table) continue;
    ++tables;
    equals.u32(numbers(static_cast<NameId>(field)));
    equals.u32(static_cast<uint32_t>(table->size()));
    table->for_each([&](std::string_view text, std::span<const uint32_t> ids) {
      equals.str(text);
      equals.u32s(ids);
    });
  }
  const auto lists = rs.candidate_groups();
  for (const auto* list : lists)
    for (NameId f : rs.list_info(list).fields) numbers(f);
  w.u32(static_cast<uint32_t>(numbers.names().size()));
  for (NameId n : numbers.names()) w.str(name_text(n));
  w.u32(static_cast<uint32_t>(rs.atoms_.size()));
  for (uint32_t i = 0; i < rs.atoms_.size(); ++i) {
    const Atom& a = rs.atoms_[i];
    w.u32(numbers(a.field));
    w.u8(a.all);
    w.u8(a.negate);
    w.u32(atom_at[i].second);
    w.u32(atom_at[i].first);
  }
  w.str(patterns.buf());
  w.u32(tables);
  w.bytes(equals.buf().data(), equals.buf().size());
  // The variants: where each starts, then all of them in one block (decoded
  // lazily, see RuleSet::variant).
  Writer variants;
  std::vector<uint32_t> variant_at;
  for (uint32_t v = 0; v < rs.variants_.size(); ++v) {
    variant_at.push_back(static_cast<uint32_t>(variants.buf().size()));
    write_variant(variants, rs.variant(v));
  }
  w.u32s(variant_at);
  w.str(variants.buf());
  w.u32(static_cast<uint32_t>(rs.by_channel_.size()));
  for (const auto& [ch, idx] : rs.by_channel_) {
    w.str(ch);
    w.u32(static_cast<uint32_t>(idx.by_event_id.size()));
    for (const auto& [id, list] : idx.by_event_id) {
      w.u32(id);
      w.u32s(list);
    }
    w.u32s(idx.any_event_id);
  }
  w.u32s(rs.provider_only_);
  w.u32s(rs.any_windows_);
  w.u32s(rs.non_windows_);
  w.u32(static_cast<uint32_t>(rs.by_product_service_.size()));
  for (const auto& [key, list] : rs.by_product_service_) {
    w.str(key);
    w.u32s(list);
  }
  // Correlations as their YAML (few and small): parsed again on load.
  w.u32(static_cast<uint32_t>(rs.correlations_.size()));
  for (size_t i = 0; i < rs.correlations_.size(); ++i) {
    w.u32(rs.correlation_rules_[i]);
    w.str(rs.correlations_[i].meta.path);
    w.u32(static_cast<uint32_t>(rs.correlations_[i].meta.document));
    w.str(rs.correlation_yaml_[i]);
  }
  w.u64(rs.prefilter_.id_count_);
  // What derive_trigger_lists makes of the variants: a load need not decode them.
  w.u32s(rs.trigger_offsets_);
  w.u32s(rs.trigger_list_);
  w.u32s(rs.variant_group_offsets_);
  w.u32s(rs.variant_groups_);
  w.u32(static_cast<uint32_t>(lists.size()));
  for (const auto* list : lists) {
    const RuleSet::ListInfo& info = rs.list_info(list);
    w.u32(static_cast<uint32_t>(info.fields.size()));
    for (NameId f : info.fields) w.u32(numbers(f));
    w.u8(info.keywords);
    w.u8(info.keywords_in_strings_only);
    w.u32s(info.always);
  }
  const uint64_t dbs_at = w.buf().size();
  w.u32(static_cast<uint32_t>(rs.prefilter_.slots_.size()));
  std::vector<std::pair<size_t, size_t>> db_bytes;  // left out of the checksum
  for (const Prefilter::Db& d : rs.prefilter_.slots_) {
    w.u32(static_cast<uint32_t>(d.keys().size()));
    for (const auto& [group, field, regex] : d.keys()) {
      w.u32(group);
      w.name(field);
      w.u8(regex ? 1 : 0);
    }
    const size_t before = w.buf().size() + 4;  // after the length
    write_db(w, d.get());
    db_bytes.push_back(db_bulk(before, w.buf().size() - before));
    w.str(d.source_.encode());  // in the checksum: a damaged database is compiled again from it
  }

  const std::string& payload = w.buf();
  std::string header(kMagic, 8);
  const uint64_t len = payload.size(), sum = payload_checksum(payload.data(), payload.size(), db_bytes);
  header.append(reinterpret_cast<const char*>(&kFormat), 4);
  header.append(reinterpret_cast<const char*>(&key), 8);
  header.append(reinterpret_cast<const char*>(&len), 8);
  header.append(reinterpret_cast<const char*>(&sum), 8);
  header.append(reinterpret_cast<const char*>(&atoms_at), 8);
  header.append(reinterpret_cast<const char*>(&dbs_at), 8);

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  const std::string tmp = fmt::format("{}.tmp.{}", file, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    if (!out) {
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return false;
  }
  // A new compiled set: the time to drop the least recently used ones.
  prune_cache_dir(std::filesystem::path(file).parent_path().string());
  return true;
}

bool RuleCache::read_patterns(std::string_view bytes, uint32_t count, const std::vector<uint32_t>& names,
                              size_t prefilter_ids, std::vector<Pattern>& out) {
  Reader rd(bytes.data(), bytes.size());
  if (count > bytes.size() / kMinPattern) return false;
  out.resize(count);
  for (Pattern& p : out) read_pattern(rd, names, prefilter_ids, &p);
  return rd.ok() && rd.at_end();
}

bool RuleCache::read_variant(std::string_view bytes, size_t rules, size_t atoms, size_t prefilter_ids, Variant& out) {
  Reader rd(bytes.data(), bytes.size());
  read_variant_body(rd, rules, atoms, prefilter_ids, &out);
  return rd.ok() && rd.at_end();
}

bool RuleCache::load(RuleSet& rs, const std::string& file, uint64_t key) {
  const MappedCacheFile data(file);
  if (!data.data()) return false;
  if (data.size() < kHeader || std::memcmp(data.data(), kMagic, 8) != 0) return false;
  uint32_t format;
  uint64_t stored_key, len, sum, atoms_at, dbs_at;
  std::memcpy(&format, data.data() + 8, 4);
  std::memcpy(&stored_key, data.data() + 12, 8);
  std::memcpy(&len, data.data() + 20, 8);
  std::memcpy(&sum, data.data() + 28, 8);
  std::memcpy(&atoms_at, data.data() + 36, 8);
  std::memcpy(&dbs_at, data.data() + 44, 8);
  if (format != kFormat || stored_key != key || len != data.size() - kHeader) return false;
  if (atoms_at < 4 || atoms_at > dbs_at || dbs_at > len) return false;
  const char* payload = data.data() + kHeader;
  data.populate(kHeader + dbs_at);  // all but the databases is read now

  // Two parts decoded side by side when more than one thread is allowed:
  // [checksum, rules and problems, databases] on a helper thread, [atoms,
  // variants, indexes] on this one. Nothing is taken before both succeed
  // and the checksum matched, and only this thread interns names (their ids
  // must not depend on timing).
  RuleSet fresh(rs.options_);
  std::vector<SerialisedDb> dbs;
  RuleSet::FileSpan rule_pieces;  // where the rules' pieces are in the file
  bool side_ok = false;
  std::promise<bool> checked;  // the checksum matched, and fresh.rule_heads_ has its size
  auto side = [&] {
    // The databases are located first: the checksum leaves their bytes out.
    Reader dr(payload + dbs_at, len - dbs_at);
    const uint32_t db_count = dr.count(21);
    std::vector<std::pair<size_t, size_t>> db_bytes;
    for (uint32_t k = 0; k < db_count && dr.ok(); ++k) {
      SerialisedDb sd;
      sd.keys.resize(dr.count(9));
      if (sd.keys.empty()) dr.fail();
      for (SerialisedDb::Key& key : sd.keys) {
        key.group = dr.u32();
        key.field = dr.view();
        const uint8_t regex = dr.u8();
        if (regex > 1) dr.fail();
        key.regex = regex == 1;
      }
      sd.bytes = dr.view();
      sd.source = dr.view();
      db_bytes.push_back(db_bulk(static_cast<size_t>(sd.bytes.data() - payload), sd.bytes.size()));
      dbs.push_back(std::move(sd));
    }
    if (!dr.ok() || !dr.at_end() || payload_checksum(payload, len, db_bytes) != sum) {
      checked.set_value(false);
      return;
    }
    Reader rr(payload, atoms_at);
    fresh.rule_heads_.resize(rr.count(14));
    checked.set_value(rr.ok());
    for (RuleSet::RuleHead& h : fresh.rule_heads_) {
      const uint8_t level = rr.u8();
      if (level > static_cast<uint8_t>(Level::Critical)) rr.fail();
      h.level = static_cast<Level>(level);
      h.level_given = rr.u8();
      h.document = static_cast<int>(rr.u32());
      h.at = rr.u32();
      h.size = rr.u32();
    }
    const std::string_view pieces = rr.view();
    for (const RuleSet::RuleHead& h : fresh.rule_heads_)
      if (uint64_t(h.at) + h.size > pieces.size() || !rule_piece_well_formed(pieces.substr(h.at, h.size)))
        rr.fail();
    rule_pieces = {static_cast<uint64_t>(pieces.data() - data.data()), pieces.size()};
    fresh.problems_.resize(rr.count(16));
    for (RuleProblem& p : fresh.problems_) {
      p.path = rr.str();
      p.document = static_cast<int>(rr.u32());
      p.rule = rr.str();
      p.field = rr.str();
      p.message = rr.str();
      p.warning = rr.u8();
    }
    side_ok = rr.ok() && rr.at_end();
  };
  std::thread helper;
  if (rs.thread_count() > 1)
    helper = std::thread(side);
  else
    side();
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{helper};

  Reader rd(payload + atoms_at, dbs_at - atoms_at);
  fresh.atom_names_.resize(rd.count(4));
  for (NameId& n : fresh.atom_names_) {
    const std::string_view name = rd.view();
    n = rd.ok() ? intern(name) : kNoName;
  }
  auto name_of = [&](uint32_t no) {
    if (no == kNoNameNo) return kNoName;
    if (no >= fresh.atom_names_.size()) {
      rd.fail();
      return kNoName;
    }
    return fresh.atom_names_[no];
  };
  fresh.atom_heads_.resize(rd.count(14));
  fresh.atom_at_.resize(fresh.atom_heads_.size());
  for (size_t i = 0; i < fresh.atom_heads_.size(); ++i) {
    RuleSet::AtomHead& a = fresh.atom_heads_[i];
    a.field = name_of(rd.u32());
    a.all = rd.u8();
    a.negate = rd.u8();
    fresh.atom_at_[i].second = rd.u32();
    fresh.atom_at_[i].first = rd.u32();
  }
  const std::string_view atom_bytes = rd.view();
  const uint32_t tables = rd.count(8);
  for (uint32_t t = 0; t < tables && rd.ok(); ++t) {
    const NameId field = name_of(rd.u32());
    const uint32_t entries = rd.count(8);
    if (field == kNoName) rd.fail();
    if (!rd.ok()) break;
    auto& slot = fresh.prefilter_.equals_index_;
    if (field >= slot.size()) slot.resize(field + 1);
    if (slot[field]) rd.fail();  // one table a field
    slot[field] = std::make_unique<EqualsTable>();
    EqualsTable& table = *slot[field];
    std::vector<uint32_t> list;
    for (uint32_t e = 0; e < entries && rd.ok(); ++e) {
      const std::string_view text = rd.view();
      list.resize(rd.count(4));
      for (uint32_t& id : list) id = rd.u32();
      table.add(text, list);
    }
    if (!table.finish()) rd.fail();  // a text twice
  }
  if (!checked.get_future().get()) return false;  // the variants' checks need the rule count
  const size_t atom_count = fresh.atom_heads_.size(), rule_count = fresh.rule_heads_.size();
  const std::vector<uint32_t> variant_at = rd.u32s();
  const std::string_view variant_bytes = rd.view();
  const size_t variant_count = variant_at.size();
  auto check_variants = [&](const std::vector<uint32_t>& list) {
    for (uint32_t v : list)
      if (v >= variant_count) rd.fail();
  };
  const uint32_t channels = rd.count(8);
  for (uint32_t c = 0; c < channels && rd.ok(); ++c) {
    const std::string ch = rd.str();
    RuleSet::ChannelIndex& idx = fresh.by_channel_[ch];
    const uint32_t ids = rd.count(8);
    for (uint32_t k = 0; k < ids && rd.ok(); ++k) {
      const uint32_t id = rd.u32();
      idx.by_event_id[id] = rd.u32s();
      check_variants(idx.by_event_id[id]);
    }
    idx.any_event_id = rd.u32s();
    check_variants(idx.any_event_id);
  }
  fresh.provider_only_ = rd.u32s();
  fresh.any_windows_ = rd.u32s();
  fresh.non_windows_ = rd.u32s();
  const uint32_t product_lists = rd.count(8);
  for (uint32_t k = 0; k < product_lists && rd.ok(); ++k) {
    std::string key = rd.str();
    fresh.by_product_service_[key] = rd.u32s();
  }
  check_variants(fresh.provider_only_);
  check_variants(fresh.any_windows_);
  check_variants(fresh.non_windows_);
  for (const auto& [key, list] : fresh.by_product_service_) check_variants(list);
  const uint32_t correlation_count = rd.count(12);
  for (uint32_t k = 0; k < correlation_count && rd.ok(); ++k) {
    const uint32_t meta = rd.u32();
    std::string path = rd.str();
    const int document = static_cast<int>(rd.u32());
    std::string yaml = rd.str();
    if (!rd.ok() || meta >= rule_count) {
      rd.fail();
      break;
    }
    Correlation c;
    std::string field, error;
    try {
      if (!parse_correlation(YAML::Load(yaml), c, &field, &error)) rd.fail();
    } catch (const YAML::Exception&) {
      rd.fail();
    }
    c.meta.path = std::move(path);
    c.meta.document = document;
    fresh.correlation_rules_.push_back(meta);
    fresh.correlations_.push_back(std::move(c));
    fresh.correlation_yaml_.push_back(std::move(yaml));
  }
  fresh.prefilter_.id_count_ = rd.u64();
  const size_t ids = fresh.prefilter_.id_count_;
  if (ids > (1u << 28)) rd.fail();
  // Every atom's patterns are checked now (not decoded): a lazily decoded
  // one cannot fail.
  for (size_t i = 0; i < fresh.atom_at_.size() && rd.ok(); ++i) {
    const auto [at, count] = fresh.atom_at_[i];
    const size_t end = i + 1 < fresh.atom_at_.size() ? fresh.atom_at_[i + 1].first : atom_bytes.size();
    if (at > end || end > atom_bytes.size() || count > (end - at) / kMinPattern) {
      rd.fail();
      break;
    }
    Reader pr(atom_bytes.data() + at, end - at);
    for (uint32_t k = 0; k < count; ++k) read_pattern(pr, fresh.atom_names_, ids, nullptr);
    if (!pr.ok() || !pr.at_end()) rd.fail();
  }
  for (const auto& table : fresh.prefilter_.equals_index_)
    if (table)
      table->for_each([&](std::string_view, std::span<const uint32_t> list) {
        for (uint32_t id : list)
          if (id >= ids) rd.fail();
      });
  // Every variant is checked now, as the patterns are.
  for (size_t v = 0; v < variant_at.size() && rd.ok(); ++v) {
    const size_t at = variant_at[v], end = v + 1 < variant_at.size() ? variant_at[v + 1] : variant_bytes.size();
    if (at > end || end > variant_bytes.size()) {
      rd.fail();
      break;
    }
    Reader vr(variant_bytes.data() + at, end - at);
    read_variant_body(vr, rule_count, atom_count, ids, nullptr);
    if (!vr.ok() || !vr.at_end()) rd.fail();
  }
  // The tables derived from the variants (RuleSet::derive_trigger_lists).
  std::vector<uint32_t> trigger_offsets = rd.u32s(), trigger_list = rd.u32s();
  std::vector<uint32_t> group_offsets = rd.u32s(), groups_of = rd.u32s();
  auto csr_ok = [](const std::vector<uint32_t>& offsets, size_t rows, const std::vector<uint32_t>& items,
                   size_t bound) {
    if (offsets.size() != rows + 1 || offsets.front() != 0 || offsets.back() != items.size()) return false;
    for (size_t k = 0; k + 1 < offsets.size(); ++k)
      if (offsets[k] > offsets[k + 1]) return false;
    for (uint32_t x : items)
      if (x >= bound) return false;
    return true;
  };
  const size_t group_count = fresh.candidate_groups().size();
  if (!csr_ok(trigger_offsets, ids, trigger_list, variant_count) ||
      !csr_ok(group_offsets, variant_count, groups_of, group_count))
    rd.fail();
  std::vector<RuleSet::ListInfo> infos(rd.count(10));
  if (infos.size() != group_count) rd.fail();
  for (RuleSet::ListInfo& info : infos) {
    if (!rd.ok()) break;
    info.fields.resize(rd.count(4));
    for (NameId& f : info.fields) {
      f = name_of(rd.u32());
      if (f == kNoName) rd.fail();
    }
    // Sorted by name id, each once: ids are this process's (the set may have
    // been compiled by a process that interned the names in another order).
    std::sort(info.fields.begin(), info.fields.end());
    for (size_t k = 1; k < info.fields.size(); ++k)
      if (info.fields[k - 1] == info.fields[k]) rd.fail();
    info.keywords = rd.u8();
    info.keywords_in_strings_only = rd.u8();
    info.always = rd.u32s();
    check_variants(info.always);
  }
  if (!rd.ok() || !rd.at_end()) return false;
  if (helper.joinable()) helper.join();
  if (!side_ok) return false;
  auto field_name = [](std::string_view s) { return s == "\x01" ? kNoName : intern(s); };
  const size_t groups = fresh.candidate_groups().size();
  // The databases are read from the file at their first use (vectorscan
  // checks their bytes then), through a descriptor of its own.
  const int fd = ::fcntl(data.fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return false;
  fresh.prefilter_.file_ = std::make_shared<const Prefilter::CacheFile>(fd);
  for (const SerialisedDb& sd : dbs) {
    std::vector<Prefilter::DbKey> keys;
    for (const SerialisedDb::Key& key : sd.keys) {
      if (key.group >= groups) return false;  // a database of no list: not this rule set's
      keys.emplace_back(key.group, field_name(key.field), key.regex);
    }
    Prefilter::Db& d = fresh.prefilter_.add_slot(std::move(keys));
    d.file_ = fresh.prefilter_.file_.get();
    d.bytes_at_ = static_cast<uint64_t>(sd.bytes.data() - data.data());
    d.bytes_size_ = sd.bytes.size();
    d.source_at_ = static_cast<uint64_t>(sd.source.data() - data.data());
    d.source_size_ = sd.source.size();
    d.state_.store(Prefilter::Db::State::Pending);
  }

  // Everything checked: take it.
  // The pieces decoded at first use are read from the file then.
  auto span_of = [&](std::string_view bytes) {
    return RuleSet::FileSpan{static_cast<uint64_t>(bytes.data() - data.data()), bytes.size()};
  };
  rs.pieces_failed_ = 0;
  rs.rules_.clear();
  rs.rule_heads_ = std::move(fresh.rule_heads_);
  rs.rule_span_ = rule_pieces;
  rs.cached_rules_.clear();
  rs.cached_rules_.resize(rs.rule_heads_.size());
  rs.rule_made_ = std::make_unique<std::atomic<uint8_t>[]>(rs.rule_heads_.size());
  rs.problems_ = std::move(fresh.problems_);
  rs.atoms_.clear();
  rs.atom_heads_ = std::move(fresh.atom_heads_);
  rs.cached_atoms_.clear();
  rs.cached_atoms_.resize(rs.atom_heads_.size());
  rs.atom_at_ = std::move(fresh.atom_at_);
  rs.atom_names_ = std::move(fresh.atom_names_);
  rs.atom_span_ = span_of(atom_bytes);
  rs.atom_decoded_ = std::make_unique<std::atomic<uint8_t>[]>(rs.atom_heads_.size());
  rs.atom_ids_.clear();  // atom keys are not cached: a cached set takes no more rules
  rs.variants_.clear();
  rs.variant_at_ = variant_at;
  rs.cached_variants_.clear();
  rs.cached_variants_.resize(variant_at.size());
  rs.variant_span_ = span_of(variant_bytes);
  rs.variant_decoded_ = std::make_unique<std::atomic<uint8_t>[]>(variant_at.size());
  rs.by_channel_ = std::move(fresh.by_channel_);
  rs.provider_only_ = std::move(fresh.provider_only_);
  rs.any_windows_ = std::move(fresh.any_windows_);
  rs.non_windows_ = std::move(fresh.non_windows_);
  rs.by_product_service_ = std::move(fresh.by_product_service_);
  rs.correlations_ = std::move(fresh.correlations_);
  rs.correlation_rules_ = std::move(fresh.correlation_rules_);
  rs.correlation_yaml_ = std::move(fresh.correlation_yaml_);
  std::swap(rs.prefilter_.slots_, fresh.prefilter_.slots_);  // a deque's elements stay in place
  std::swap(rs.prefilter_.file_, fresh.prefilter_.file_);
  rs.prefilter_.equals_index_ = std::move(fresh.prefilter_.equals_index_);
  rs.prefilter_.index_databases();
  rs.prefilter_.id_count_ = fresh.prefilter_.id_count_;
  rs.trigger_offsets_ = std::move(trigger_offsets);
  rs.trigger_list_ = std::move(trigger_list);
  rs.variant_group_offsets_ = std::move(group_offsets);
  rs.variant_groups_ = std::move(groups_of);
  rs.list_info_.clear();
  const auto lists = rs.candidate_groups();
  for (size_t g = 0; g < lists.size(); ++g) {
    RuleSet::ListInfo& info = infos[g];
    info.group = static_cast<uint32_t>(g);
    if (!info.fields.empty()) info.field_bits.assign(info.fields.back() / 64 + 1, 0);
    for (NameId f : info.fields) info.field_bits[f / 64] |= uint64_t(1) << (f % 64);
    rs.list_info_[lists[g]] = std::move(info);
  }
  touch_cache_file(data.fd());  // most recently used: the last to be pruned
  return true;
}

}  // namespace vigil::sigma
