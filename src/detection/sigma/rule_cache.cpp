#include "detection/sigma/rule_cache.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detection/sigma/ruleset.hpp"
#include "event/text.hpp"

namespace vigil::sigma {
namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'R', 'C', '1'};
// Bump when the layout of anything serialised here changes.
constexpr uint32_t kFormat = 9;

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
  void u32s(const std::vector<uint32_t>& v) {
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
  std::string str() {
    const uint32_t n = u32();
    if (!ok_ || n > static_cast<size_t>(end_ - p_)) return fail_str();
    std::string s(p_, n);
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
    std::vector<std::string> v(count(4));
    for (auto& s : v) s = str();
    return v;
  }
  std::vector<uint32_t> u32s() {
    std::vector<uint32_t> v(count(4));
    for (auto& x : v) x = u32();
    return v;
  }
  NameId name() {
    const std::string s = str();
    if (!ok_) return kNoName;
    return s == "\x01" ? kNoName : intern(s);
  }
  void fail() { ok_ = false; }
  void bytes(void* out, size_t n) { take(out, n); }

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
  std::string fail_str() {
    ok_ = false;
    return {};
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

void write_rule(Writer& w, const Rule& r) {
  for (const std::string* s : {&r.id, &r.name, &r.title, &r.status, &r.description, &r.author, &r.date, &r.modified,
                               &r.license, &r.logsource.product, &r.logsource.category, &r.logsource.service, &r.path})
    w.str(*s);
  w.u8(static_cast<uint8_t>(r.level));
  w.u8(r.level_given);
  w.strs(r.tags);
  w.strs(r.references);
  w.strs(r.falsepositives);
  w.strs(r.fields);
  w.u32(static_cast<uint32_t>(r.document));
}

Rule read_rule(Reader& rd) {
  Rule r;
  for (std::string* s : {&r.id, &r.name, &r.title, &r.status, &r.description, &r.author, &r.date, &r.modified,
                         &r.license, &r.logsource.product, &r.logsource.category, &r.logsource.service, &r.path})
    *s = rd.str();
  const uint8_t level = rd.u8();
  if (level > static_cast<uint8_t>(Level::Critical)) rd.fail();
  r.level = static_cast<Level>(level);
  r.level_given = rd.u8();
  r.tags = rd.strs();
  r.references = rd.strs();
  r.falsepositives = rd.strs();
  r.fields = rd.strs();
  r.document = static_cast<int>(rd.u32());
  return r;
}

void write_pattern(Writer& w, const Pattern& p) {
  w.u8(static_cast<uint8_t>(p.kind));
  w.u8(static_cast<uint8_t>(p.op));
  w.u8(p.cased);
  w.u8(p.dot_nl);
  w.str(p.text);
  w.u32(static_cast<uint32_t>(p.glob.size()));
  w.bytes(p.glob.data(), p.glob.size() * sizeof(uint16_t));
  w.u8(p.exists);
  w.u8(p.family);
  w.u8(p.prefix);
  for (uint8_t b : p.addr) w.u8(b);
  w.u8(static_cast<uint8_t>(p.cmp));
  w.u8(static_cast<uint8_t>(p.part));
  w.f64(p.number);
  w.name(p.ref);
  w.u32(p.group);
  w.u32(p.prefilter);
  w.u8(p.prefilter_exact);
}

Pattern read_pattern(Reader& rd) {
  Pattern p;
  const uint8_t kind = rd.u8(), op = rd.u8();
  if (kind > static_cast<uint8_t>(Pattern::Kind::Never) || op > static_cast<uint8_t>(StrOp::Glob)) rd.fail();
  p.kind = static_cast<Pattern::Kind>(kind);
  p.op = static_cast<StrOp>(op);
  p.cased = rd.u8();
  p.dot_nl = rd.u8();
  p.text = rd.str();
  p.glob.resize(rd.count(2));
  rd.bytes(p.glob.data(), p.glob.size() * sizeof(uint16_t));
  for (uint16_t t : p.glob)
    if (t > kGlobDash) rd.fail();
  p.exists = rd.u8();
  p.family = rd.u8();
  p.prefix = rd.u8();
  for (uint8_t& b : p.addr) b = rd.u8();
  const uint8_t cmp = rd.u8(), part = rd.u8();
  if (cmp > static_cast<uint8_t>(Cmp::Gte) || part > static_cast<uint8_t>(TimePart::Year)) rd.fail();
  p.cmp = static_cast<Cmp>(cmp);
  p.part = static_cast<TimePart>(part);
  p.number = rd.f64();
  p.ref = rd.name();
  p.group = static_cast<uint16_t>(rd.u32());
  p.prefilter = rd.u32();
  p.prefilter_exact = rd.u8();
  if (rd.ok() && p.kind == Pattern::Kind::Regex) p.re = std::make_shared<const LazyRegex>(p.text, p.cased, p.dot_nl);
  if (p.prefix > 128) rd.fail();
  return p;
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

hs_database_t* read_db(Reader& rd) {
  const std::string bytes = rd.str();
  if (!rd.ok() || bytes.empty()) return nullptr;
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) {
    rd.fail();
    return nullptr;
  }
  return db;
}

}  // namespace

uint64_t RuleCache::key(const RuleSet& rules, const std::vector<std::pair<std::string, std::string>>& files) {
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
  for (const auto& [path, content] : files) {
    add(path);
    const uint64_t h = XXH3_64bits(content.data(), content.size());
    XXH3_64bits_update(st, &h, sizeof h);
  }
  const uint64_t k = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return k;
}

std::string RuleCache::path(const std::string& dir, uint64_t key) { return fmt::format("{}/rules-{:016x}.bin", dir, key); }

bool RuleCache::save(const RuleSet& rs, const std::string& file, uint64_t key) {
  Writer w;
  w.u32(static_cast<uint32_t>(rs.rules_.size()));
  for (const Rule& r : rs.rules_) write_rule(w, r);
  w.u32(static_cast<uint32_t>(rs.problems_.size()));
  for (const RuleProblem& p : rs.problems_) {
    w.str(p.path);
    w.u32(static_cast<uint32_t>(p.document));
    w.str(p.rule);
    w.str(p.field);
    w.str(p.message);
    w.u8(p.warning);
  }
  w.u32(static_cast<uint32_t>(rs.atoms_.size()));
  for (const Atom& a : rs.atoms_) {
    w.name(a.field);
    w.u8(a.all);
    w.u8(a.negate);
    w.u32(static_cast<uint32_t>(a.patterns.size()));
    for (const Pattern& p : a.patterns) write_pattern(w, p);
  }
  w.u32(static_cast<uint32_t>(rs.variants_.size()));
  for (const Variant& v : rs.variants_) {
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
    w.u8(v.always);
  }
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
  // Correlations as their YAML (few and small): parsed again on load.
  w.u32(static_cast<uint32_t>(rs.correlations_.size()));
  for (size_t i = 0; i < rs.correlations_.size(); ++i) {
    w.u32(rs.correlation_rules_[i]);
    w.str(rs.correlations_[i].meta.path);
    w.u32(static_cast<uint32_t>(rs.correlations_[i].meta.document));
    w.str(rs.correlation_yaml_[i]);
  }
  w.u64(rs.prefilter_.id_count_);
  w.u32(static_cast<uint32_t>(rs.prefilter_.by_field_.size()));
  for (const auto& [field, db] : rs.prefilter_.by_field_) {
    w.name(field);
    write_db(w, db);
  }
  write_db(w, rs.prefilter_.keyword_);
  w.u32(static_cast<uint32_t>(rs.prefilter_.regex_by_field_.size()));
  for (const auto& [field, db] : rs.prefilter_.regex_by_field_) {
    w.name(field);
    write_db(w, db);
  }

  const std::string& payload = w.buf();
  std::string header(kMagic, 8);
  const uint64_t len = payload.size(), sum = XXH3_64bits(payload.data(), payload.size());
  header.append(reinterpret_cast<const char*>(&kFormat), 4);
  header.append(reinterpret_cast<const char*>(&key), 8);
  header.append(reinterpret_cast<const char*>(&len), 8);
  header.append(reinterpret_cast<const char*>(&sum), 8);

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
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

bool RuleCache::load(RuleSet& rs, const std::string& file, uint64_t key) {
  std::string data;
  if (!read_whole_file(file, data)) return false;
  constexpr size_t kHeader = 8 + 4 + 8 + 8 + 8;
  if (data.size() < kHeader || std::memcmp(data.data(), kMagic, 8) != 0) return false;
  uint32_t format;
  uint64_t stored_key, len, sum;
  std::memcpy(&format, data.data() + 8, 4);
  std::memcpy(&stored_key, data.data() + 12, 8);
  std::memcpy(&len, data.data() + 20, 8);
  std::memcpy(&sum, data.data() + 28, 8);
  if (format != kFormat || stored_key != key || len != data.size() - kHeader) return false;
  const char* payload = data.data() + kHeader;
  if (XXH3_64bits(payload, len) != sum) return false;

  Reader rd(payload, len);
  RuleSet fresh(rs.options_);
  fresh.rules_.resize(rd.count(16));
  for (Rule& r : fresh.rules_) r = read_rule(rd);
  fresh.problems_.resize(rd.count(16));
  for (RuleProblem& p : fresh.problems_) {
    p.path = rd.str();
    p.document = static_cast<int>(rd.u32());
    p.rule = rd.str();
    p.field = rd.str();
    p.message = rd.str();
    p.warning = rd.u8();
  }
  fresh.atoms_.resize(rd.count(8));
  for (Atom& a : fresh.atoms_) {
    a.field = rd.name();
    a.all = rd.u8();
    a.negate = rd.u8();
    a.patterns.resize(rd.count(8));
    for (Pattern& p : a.patterns) p = read_pattern(rd);
  }
  const size_t atom_count = fresh.atoms_.size(), rule_count = fresh.rules_.size();
  fresh.variants_.resize(rd.count(8));
  for (Variant& v : fresh.variants_) {
    v.rule = rd.u32();
    if (v.rule >= rule_count) rd.fail();
    v.program.nodes.resize(rd.count(9));
    for (Expr& e : v.program.nodes) {
      const uint8_t op = rd.u8();
      if (op > static_cast<uint8_t>(Expr::Op::False)) rd.fail();
      e.op = static_cast<Expr::Op>(op);
      e.a = rd.u32();
      e.b = rd.u32();
    }
    v.program.kids = rd.u32s();
    v.program.root = rd.u32();
    v.program.selections.resize(rd.count(5));
    for (auto& [name, node] : v.program.selections) {
      name = rd.str();
      node = rd.u32();
    }
    v.provider = rd.str();
    v.trigger = rd.u32s();
    v.always = rd.u8();
    // Structural checks, so a damaged file cannot make the matcher read astray.
    const size_t n = v.program.nodes.size();
    if (v.program.root >= n) rd.fail();
    for (const auto& sel : v.program.selections)
      if (sel.second >= n) rd.fail();
    for (const Expr& e : v.program.nodes) {
      if (e.op == Expr::Op::Atom && e.a >= atom_count) rd.fail();
      if (e.op == Expr::Op::Not && e.a >= n) rd.fail();
      if ((e.op == Expr::Op::And || e.op == Expr::Op::Or) &&
          (static_cast<uint64_t>(e.a) + e.b > v.program.kids.size()))
        rd.fail();
    }
    for (uint32_t k : v.program.kids)
      if (k >= n) rd.fail();
  }
  const size_t variant_count = fresh.variants_.size();
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
  check_variants(fresh.provider_only_);
  check_variants(fresh.any_windows_);
  check_variants(fresh.non_windows_);
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
  if (fresh.prefilter_.id_count_ > (1u << 28)) rd.fail();
  for (const Atom& a : fresh.atoms_)
    for (const Pattern& p : a.patterns)
      if (p.prefilter != kNoPrefilter && p.prefilter >= fresh.prefilter_.id_count_) rd.fail();
  for (const Variant& v : fresh.variants_)
    for (uint32_t id : v.trigger)
      if (id >= fresh.prefilter_.id_count_) rd.fail();
  const uint32_t dbs = rd.count(8);
  for (uint32_t k = 0; k < dbs && rd.ok(); ++k) {
    const NameId field = rd.name();
    hs_database_t* db = read_db(rd);
    if (db) fresh.prefilter_.by_field_[field] = db;
  }
  fresh.prefilter_.keyword_ = read_db(rd);
  const uint32_t regex_dbs = rd.count(8);
  for (uint32_t k = 0; k < regex_dbs && rd.ok(); ++k) {
    const NameId field = rd.name();
    hs_database_t* db = read_db(rd);
    if (db) fresh.prefilter_.regex_by_field_[field] = db;
  }
  if (!rd.ok() || !rd.at_end()) return false;

  // Everything checked: take it.
  rs.rules_ = std::move(fresh.rules_);
  rs.problems_ = std::move(fresh.problems_);
  rs.atoms_ = std::move(fresh.atoms_);
  rs.atom_ids_.clear();  // atom keys are not cached: a cached set takes no more rules
  rs.variants_ = std::move(fresh.variants_);
  rs.by_channel_ = std::move(fresh.by_channel_);
  rs.provider_only_ = std::move(fresh.provider_only_);
  rs.any_windows_ = std::move(fresh.any_windows_);
  rs.non_windows_ = std::move(fresh.non_windows_);
  rs.correlations_ = std::move(fresh.correlations_);
  rs.correlation_rules_ = std::move(fresh.correlation_rules_);
  rs.correlation_yaml_ = std::move(fresh.correlation_yaml_);
  std::swap(rs.prefilter_.by_field_, fresh.prefilter_.by_field_);
  std::swap(rs.prefilter_.keyword_, fresh.prefilter_.keyword_);
  std::swap(rs.prefilter_.regex_by_field_, fresh.prefilter_.regex_by_field_);
  rs.prefilter_.index(rs.atoms_);
  rs.prefilter_.id_count_ = fresh.prefilter_.id_count_;
  rs.derive_trigger_lists();
  return true;
}

}  // namespace vigil::sigma
