#include "detection/sigma/ruleset.hpp"

#include <fmt/format.h>
#define XXH_INLINE_ALL  // the scan memo hashes short values: a call costs more than the hash
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <filesystem>
#include <functional>
#include <optional>
#include <fstream>
#include <sstream>

#include "detection/sigma/condition.hpp"
#include "detection/sigma/rule_cache.hpp"
#include "detection/sigma/rule_files.hpp"
#include "event/parallel.hpp"
#include "event/text.hpp"

namespace vigil::sigma {
namespace fs = std::filesystem;
namespace {

// Builds one rule's program.
class ProgramBuilder {
 public:
  ProgramBuilder(Program& p, const std::map<std::string, std::string>& renames, const Placeholders& ph,
                 std::function<uint32_t(Atom&&)> intern_atom)
      : p_(p), renames_(renames), ph_(ph), intern_atom_(std::move(intern_atom)) {}

  uint32_t node(Expr::Op op, uint32_t a = 0, uint32_t b = 0) {
    p_.nodes.push_back({op, a, b});
    return static_cast<uint32_t>(p_.nodes.size() - 1);
  }
  uint32_t group(Expr::Op op, const std::vector<uint32_t>& children) {
    if (children.size() == 1) return children[0];
    const uint32_t first = static_cast<uint32_t>(p_.kids.size());
    p_.kids.insert(p_.kids.end(), children.begin(), children.end());
    return node(op, first, static_cast<uint32_t>(children.size()));
  }

  bool item(const std::string& key, const YAML::Node& value, const std::string& where, uint32_t& out) {
    std::string k = key;
    // Field renames of the event source: rule field -> event field.
    const size_t bar = k.find('|');
    const std::string field = k.substr(0, bar);
    if (auto it = renames_.find(field); it != renames_.end()) k = it->second + (bar == std::string::npos ? "" : k.substr(bar));
    Atom atom;
    std::string error;
    if (!compile_atom(k, value, ph_, atom, &error, &warnings)) {
      field_ = where + "." + key;
      error_ = error;
      return false;
    }
    out = node(Expr::Op::Atom, intern_atom_(std::move(atom)));
    return true;
  }

  bool map(const YAML::Node& m, const std::string& where, uint32_t& out) {
    std::vector<uint32_t> parts;
    for (const auto& kv : m) {
      uint32_t n;
      if (!item(kv.first.as<std::string>(), kv.second, where, n)) return false;
      parts.push_back(n);
    }
    if (parts.empty()) {
      field_ = where;
      error_ = "empty map";
      return false;
    }
    out = group(Expr::Op::And, parts);
    return true;
  }

  bool search(const YAML::Node& v, const std::string& where, uint32_t& out) {
    if (v.IsMap()) return map(v, where, out);
    if (v.IsSequence()) {
      // A list of plain values is a keyword search (OR); maps in a list are OR'd.
      std::vector<uint32_t> parts;
      YAML::Node keywords(YAML::NodeType::Sequence);
      for (const auto& x : v) {
        if (x.IsMap()) {
          uint32_t n;
          if (!map(x, where, n)) return false;
          parts.push_back(n);
        } else if (x.IsScalar()) {
          keywords.push_back(x);
        } else {
          field_ = where;
          error_ = "a list may hold values or maps, not nested lists or null";
          return false;
        }
      }
      if (keywords.size()) {
        uint32_t n;
        if (!item("", keywords, where, n)) return false;
        parts.push_back(n);
      }
      if (parts.empty()) {
        field_ = where;
        error_ = "empty list";
        return false;
      }
      out = group(Expr::Op::Or, parts);
      return true;
    }
    if (v.IsScalar()) return item("", v, where, out);
    field_ = where;
    error_ = "a search identifier must be a map, a list or a value";
    return false;
  }

  std::string field_, error_;
  std::vector<std::string> warnings;

 private:
  Program& p_;
  const std::map<std::string, std::string>& renames_;
  const Placeholders& ph_;
  std::function<uint32_t(Atom&&)> intern_atom_;
};

bool compile_condition(ProgramBuilder& b, const Condition& c, const std::map<std::string, uint32_t>& ids,
                       uint32_t& out, std::string* error) {
  switch (c.kind) {
    case Condition::Kind::Ident: {
      auto it = ids.find(c.name);
      if (it == ids.end()) {
        *error = fmt::format("condition names `{}`, which is not a search identifier of the rule", c.name);
        return false;
      }
      out = it->second;
      return true;
    }
    case Condition::Kind::Not: {
      uint32_t inner;
      if (!compile_condition(b, c.children[0], ids, inner, error)) return false;
      out = b.node(Expr::Op::Not, inner);
      return true;
    }
    case Condition::Kind::And:
    case Condition::Kind::Or: {
      std::vector<uint32_t> parts;
      for (const auto& ch : c.children) {
        uint32_t n;
        if (!compile_condition(b, ch, ids, n, error)) return false;
        parts.push_back(n);
      }
      out = b.group(c.kind == Condition::Kind::And ? Expr::Op::And : Expr::Op::Or, parts);
      return true;
    }
    case Condition::Kind::OneOf:
    case Condition::Kind::AllOf: {
      std::vector<uint32_t> parts;
      for (const auto& [name, n] : ids) {
        const bool hit = c.name == "them" ? name.empty() || name[0] != '_' : identifier_matches(c.name, name);
        if (hit) parts.push_back(n);
      }
      if (parts.empty()) {
        *error = fmt::format("`{}` matches no search identifier", c.name);
        return false;
      }
      out = b.group(c.kind == Condition::Kind::AllOf ? Expr::Op::And : Expr::Op::Or, parts);
      return true;
    }
  }
  return false;
}

// Compiles one detection section (search identifiers and condition) into the
// builder's program; `root` is its condition's node. `selections` (optional)
// receives the identifiers and their nodes, in rule order.
bool compile_detection(ProgramBuilder& b, const YAML::Node& detection, uint32_t& root,
                       std::vector<std::pair<std::string, uint32_t>>* selections, std::string* field,
                       std::string* error) {
  std::map<std::string, uint32_t> ids;
  YAML::Node condition;
  for (const auto& kv : detection) {
    const std::string name = kv.first.as<std::string>();
    if (name == "condition") {
      condition = kv.second;
      continue;
    }
    if (name == "timeframe") continue;  // Sigma 1 aggregation window: handled by correlations
    uint32_t n;
    if (!b.search(kv.second, "detection." + name, n)) {
      *field = b.field_;
      *error = b.error_;
      return false;
    }
    ids[name] = n;
    if (selections) selections->emplace_back(name, n);
  }
  std::vector<std::string> texts;
  if (condition.IsScalar()) {
    texts.push_back(condition.Scalar());
  } else if (condition.IsSequence()) {
    for (const auto& c : condition) {
      if (!c.IsScalar()) {
        *field = "detection.condition";
        *error = "a condition list must hold strings";
        return false;
      }
      texts.push_back(c.Scalar());
    }
  } else {
    *field = "detection.condition";
    *error = "must be a string or a list of strings";
    return false;
  }
  std::vector<uint32_t> roots;
  for (const auto& t : texts) {
    if (t.find('|') != std::string::npos) {
      *field = "detection.condition";
      *error = "Sigma 1 aggregations (`| count() ...`) are replaced by correlation rules in Sigma 2";
      return false;
    }
    Condition c;
    std::string err;
    if (!parse_condition(t, c, &err)) {
      *field = "detection.condition";
      *error = err;
      return false;
    }
    uint32_t n;
    if (!compile_condition(b, c, ids, n, &err)) {
      *field = "detection.condition";
      *error = err;
      return false;
    }
    roots.push_back(n);
  }
  root = b.group(Expr::Op::Or, roots);
  return true;
}

// A rule's program: its own detection, and for each filter that names it,
// `and not (filter)` (the Sigma meta-filter semantics).
bool compile_program(const YAML::Node& detection, const std::vector<const YAML::Node*>& filters,
                     const std::map<std::string, std::string>& renames, const Placeholders& ph,
                     const std::function<uint32_t(Atom&&)>& intern_atom, Program& p, std::string* field,
                     std::string* error, std::vector<std::string>* warnings) {
  ProgramBuilder b(p, renames, ph, intern_atom);
  p.selections.clear();
  uint32_t root;
  if (!compile_detection(b, detection, root, &p.selections, field, error)) return false;
  for (const YAML::Node* f : filters) {
    uint32_t filter_root;
    std::string f_field;
    if (!compile_detection(b, *f, filter_root, nullptr, &f_field, error)) {
      *field = "filter " + f_field;
      return false;
    }
    root = b.group(Expr::Op::And, {root, b.node(Expr::Op::Not, filter_root)});
  }
  if (warnings) warnings->insert(warnings->end(), b.warnings.begin(), b.warnings.end());
  p.root = root;
  return true;
}

std::string renames_key(const std::map<std::string, std::string>& r) {
  std::string k;
  for (const auto& [a, b] : r) k += a + "=" + b + ";";
  return k;
}

}  // namespace

namespace {

// Runs `decode` once for the flag `done`, under `mu`; a caller that then sees
// the flag set (acquire) sees what it wrote. For the parts of a cached set
// decoded at their first use: rule details, atoms, variants.
template <class F>
void decode_once(std::atomic<uint8_t>& done, std::mutex& mu, F&& decode) {
  std::lock_guard lock(mu);
  if (done.load(std::memory_order_relaxed)) return;
  decode();
  done.store(1, std::memory_order_release);
}

// How many of `n` such flags are set; all when there are none (a compiled set).
size_t decoded_count(const std::unique_ptr<std::atomic<uint8_t>[]>& flags, size_t n) {
  if (!flags) return n;
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) k += flags[i].load(std::memory_order_relaxed);
  return k;
}

}  // namespace

bool RuleSet::read_piece(FileSpan span, uint64_t offset, uint64_t end, std::string_view& out) const {
  const char* bytes = nullptr;
  const Prefilter::CacheFile* file = prefilter_.cache_file();
  if (offset > end || end > span.size || !file || !file->read(span.at + offset, end - offset, bytes)) return false;
  out = std::string_view(bytes, end - offset);
  return true;
}

void RuleSet::make_rule_from(size_t i, std::string_view bytes) const {
  auto r = std::make_unique<Rule>();
  // Its bytes were checked when the set was loaded; read again, they fail
  // only if the file changed since: the rule is then left without its texts.
  if (!RuleCache::read_rule(bytes, *r)) {
    r = std::make_unique<Rule>();
    ++pieces_failed_;
  }
  const RuleHead& h = rule_heads_[i];
  r->level = h.level;
  r->level_given = h.level_given;
  r->document = h.document;
  cached_rules_[i] = std::move(r);
}

const Rule& RuleSet::make_rule(size_t i) const {
  decode_once(rule_made_[i], decode_mutex(0, i), [&] {
    const RuleHead& h = rule_heads_[i];
    std::string_view bytes;  // stays empty when the piece cannot be read
    read_piece(rule_span_, h.at, uint64_t(h.at) + h.size, bytes);
    make_rule_from(i, bytes);
  });
  return *cached_rules_[i];
}

void RuleSet::make_all_rules() const {
  if (!rule_made_) return;
  constexpr uint64_t kBlock = 256 << 10;  // a read covers the pieces of many rules (they lie in rule order)
  for (size_t i = 0; i < rule_heads_.size();) {
    if (rule_made_[i].load(std::memory_order_relaxed)) {
      ++i;
      continue;
    }
    const uint64_t from = rule_heads_[i].at;
    size_t j = i + 1;
    uint64_t to = from + rule_heads_[i].size;
    for (; j < rule_heads_.size() && rule_heads_[j].at >= from; ++j) {
      const uint64_t end = uint64_t(rule_heads_[j].at) + rule_heads_[j].size;
      if (end - from > kBlock) break;
      to = std::max(to, end);
    }
    std::string_view block;
    const bool read = read_piece(rule_span_, from, to, block);
    for (size_t k = i; k < j; ++k) {
      const RuleHead& h = rule_heads_[k];
      decode_once(rule_made_[k], decode_mutex(0, k),
                  [&] { make_rule_from(k, read ? block.substr(h.at - from, h.size) : std::string_view()); });
    }
    i = j;
  }
}

size_t RuleSet::rules_made() const { return decoded_count(rule_made_, rule_count()); }

const Atom& RuleSet::decode_atom(uint32_t i) const {
  decode_once(atom_decoded_[i], decode_mutex(1, i), [&] {
    auto atom = std::make_unique<Atom>();
    atom->field = atom_heads_[i].field;
    atom->all = atom_heads_[i].all;
    atom->negate = atom_heads_[i].negate;
    const auto [at, count] = atom_at_[i];
    const uint64_t end = i + 1 < atom_at_.size() ? atom_at_[i + 1].first : atom_span_.size;
    // Checked when the set was loaded (RuleCache::load reads every pattern
    // once without keeping it): this fails only if the file changed since,
    // and leaves the atom without patterns.
    std::string_view bytes;
    if (!read_piece(atom_span_, at, end, bytes) ||
        !RuleCache::read_patterns(bytes, count, atom_names_, prefilter_.id_count(), atom->patterns)) {
      atom->patterns.clear();
      ++pieces_failed_;
    }
    cached_atoms_[i] = std::move(atom);
  });
  return *cached_atoms_[i];
}

const Variant& RuleSet::decode_variant(uint32_t v) const {
  decode_once(variant_decoded_[v], decode_mutex(2, v), [&] {
    auto variant = std::make_unique<Variant>();
    const uint64_t end = v + 1 < variant_at_.size() ? variant_at_[v + 1] : variant_span_.size;
    // Checked when the set was loaded, as atoms are.
    std::string_view bytes;
    if (!read_piece(variant_span_, variant_at_[v], end, bytes) ||
        !RuleCache::read_variant(bytes, rule_count(), atom_count(), prefilter_.id_count(), *variant)) {
      *variant = Variant{};
      ++pieces_failed_;
    }
    cached_variants_[v] = std::move(variant);
  });
  return *cached_variants_[v];
}

size_t RuleSet::atoms_decoded() const { return decoded_count(atom_decoded_, atom_count()); }
size_t RuleSet::variants_decoded() const { return decoded_count(variant_decoded_, variant_count()); }

unsigned RuleSet::thread_count() const {
  return options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
}

RuleSet::RuleSet(RuleSetOptions options) : options_(std::move(options)) {
  if (!options_.logsources) options_.logsources = LogSourceMap::builtin();
}

uint32_t RuleSet::atom_index(Atom&& atom) {
  auto it = atom_ids_.find(atom.key);
  if (it != atom_ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(atoms_.size());
  atom_ids_.emplace(atom.key, id);
  atoms_.push_back(std::move(atom));
  return id;
}

bool RuleSet::compile(Rule& rule, uint32_t index, const std::vector<const Filter*>& filters, std::string* field,
                      std::string* error, std::vector<std::string>* warnings) {
  std::vector<const YAML::Node*> filter_detections;
  for (const Filter* f : filters) filter_detections.push_back(&f->detection);
  std::vector<const EventSource*> sources;
  const auto scope = options_.logsources->lookup(rule.logsource, sources);
  auto intern_atom = [this](Atom&& a) { return atom_index(std::move(a)); };
  const std::map<std::string, std::string> no_renames;

  // Compile once per distinct set of renames; roll back atoms on failure.
  const size_t atoms_before = atoms_.size();
  std::map<std::string, Program> programs;
  auto program_for = [&](const std::map<std::string, std::string>& renames, Program*& out) {
    const std::string key = renames_key(renames);
    auto it = programs.find(key);
    if (it == programs.end()) {
      Program p;
      if (!compile_program(rule.detection, filter_detections, renames, options_.placeholders, intern_atom, p, field,
                           error, programs.empty() ? warnings : nullptr))
        return false;
      it = programs.emplace(key, std::move(p)).first;
    }
    out = &it->second;
    return true;
  };
  auto fail = [&] {
    for (size_t i = atoms_before; i < atoms_.size(); ++i) atom_ids_.erase(atoms_[i].key);
    atoms_.resize(atoms_before);
    return false;
  };
  auto add_variant = [&](const Program& program, const std::string& provider) {
    Variant& v = variants_.emplace_back();
    v.rule = index;
    v.program = program;
    v.provider = provider;
  };

  if (scope != LogSourceMap::Scope::Mapped) {
    Program* p;
    if (!program_for(no_renames, p)) return fail();
    const uint32_t v = static_cast<uint32_t>(variants_.size());
    add_variant(*p, "");
    bool by_field = false;
    if (scope == LogSourceMap::Scope::Unmapped)
      for (const auto& fp : options_.logsources->field_products())
        if (fp.product == rule.logsource.product) {
          by_product_service_[fp.product + "/" + rule.logsource.service].push_back(v);
          by_field = true;
        }
    if (!by_field) (scope == LogSourceMap::Scope::AnyWindowsEvent ? any_windows_ : non_windows_).push_back(v);
    return true;
  }
  std::vector<std::pair<const EventSource*, Program*>> compiled;
  for (const EventSource* s : sources) {
    Program* p;
    if (!program_for(s->fields, p)) return fail();
    compiled.emplace_back(s, p);
  }
  for (auto& [s, p] : compiled) {
    const uint32_t v = static_cast<uint32_t>(variants_.size());
    add_variant(*p, s->provider);
    if (s->channels.empty()) {
      provider_only_.push_back(v);
      continue;
    }
    for (const auto& ch : s->channels) {
      ChannelIndex& ci = by_channel_[ch];
      if (s->event_ids.empty())
        ci.any_event_id.push_back(v);
      else
        for (uint32_t id : s->event_ids) ci.by_event_id[id].push_back(v);
    }
  }
  return true;
}

size_t RuleSet::load_text(const std::string& name, const std::string& text) {
  const size_t n = add_text(name, text);
  finalize();
  return n;
}

namespace {

// Prefilter ids of which at least one must be hit for the node to be true, or
// nullopt when no such set is known.
std::optional<std::vector<uint32_t>> necessary(const Program& p, uint32_t n, const std::vector<Atom>& atoms,
                                               const std::function<size_t(uint32_t)>& weight, int depth = 0) {
  if (depth > 64) return std::nullopt;
  const Expr& e = p.nodes[n];
  switch (e.op) {
    case Expr::Op::Atom: {
      const Atom& a = atoms[e.a];
      if (a.negate || a.patterns.empty()) return std::nullopt;
      std::vector<uint32_t> ids;
      for (const Pattern& pat : a.patterns) {
        if (a.all && pat.group != a.patterns.front().group) break;  // |all: the first value is needed
        if (pat.prefilter == kNoPrefilter) return std::nullopt;
        ids.push_back(pat.prefilter);
      }
      return ids;
    }
    case Expr::Op::And: {
      // Any child's set will do; take the most selective: the one whose
      // weakest literal is longest (short literals like `.exe` are everywhere),
      // then the smallest.
      std::optional<std::vector<uint32_t>> best;
      size_t best_weak = 0;
      for (uint32_t k = 0; k < e.b; ++k) {
        auto s = necessary(p, p.kids[e.a + k], atoms, weight, depth + 1);
        if (!s) continue;
        size_t weak = SIZE_MAX;
        for (uint32_t id : *s) weak = std::min(weak, weight(id));
        if (!best || weak > best_weak || (weak == best_weak && s->size() < best->size())) {
          best = std::move(s);
          best_weak = weak;
        }
      }
      return best;
    }
    case Expr::Op::Or: {
      std::vector<uint32_t> all;
      for (uint32_t k = 0; k < e.b; ++k) {
        auto s = necessary(p, p.kids[e.a + k], atoms, weight, depth + 1);
        if (!s) return std::nullopt;
        all.insert(all.end(), s->begin(), s->end());
      }
      return all;
    }
    case Expr::Op::False: return std::vector<uint32_t>{};
    case Expr::Op::Not:
    case Expr::Op::True: return std::nullopt;
  }
  return std::nullopt;
}

// Every necessary set `necessary` can find below node n, from the separate
// parts of the Ands on the way (each is necessary on its own).
void necessary_sets(const Program& p, uint32_t n, const std::vector<Atom>& atoms,
                    const std::function<size_t(uint32_t)>& weight, std::vector<std::vector<uint32_t>>& out,
                    int depth = 0) {
  if (depth > 64) return;
  const Expr& e = p.nodes[n];
  if (e.op == Expr::Op::And) {
    for (uint32_t k = 0; k < e.b; ++k) necessary_sets(p, p.kids[e.a + k], atoms, weight, out, depth + 1);
    return;
  }
  if (auto s = necessary(p, n, atoms, weight, depth)) out.push_back(std::move(*s));
}

}  // namespace

std::vector<const std::vector<uint32_t>*> RuleSet::candidate_groups() const {
  std::vector<const std::vector<uint32_t>*> out{&non_windows_, &any_windows_, &provider_only_};
  std::vector<const std::string*> products;
  for (const auto& [key, list] : by_product_service_) products.push_back(&key);
  std::sort(products.begin(), products.end(), [](auto a, auto b) { return *a < *b; });
  for (const std::string* k : products) out.push_back(&by_product_service_.at(*k));
  std::vector<const std::string*> channels;
  for (const auto& [key, idx] : by_channel_) channels.push_back(&key);
  std::sort(channels.begin(), channels.end(), [](auto a, auto b) { return *a < *b; });
  for (const std::string* c : channels) {
    const ChannelIndex& idx = by_channel_.at(*c);
    out.push_back(&idx.any_event_id);
    std::vector<uint32_t> ids;
    for (const auto& [id, list] : idx.by_event_id) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (uint32_t id : ids) out.push_back(&idx.by_event_id.at(id));
  }
  return out;
}

void RuleSet::finalize() {
  // The atoms of each candidate list's rules: its prefilter group.
  const auto lists = candidate_groups();
  std::vector<std::vector<uint32_t>> group_atoms(lists.size());
  for (size_t g = 0; g < lists.size(); ++g) {
    for (uint32_t v : *lists[g])
      for (const Expr& e : variants_[v].program.nodes)
        if (e.op == Expr::Op::Atom) group_atoms[g].push_back(e.a);
    std::sort(group_atoms[g].begin(), group_atoms[g].end());
    group_atoms[g].erase(std::unique(group_atoms[g].begin(), group_atoms[g].end()), group_atoms[g].end());
  }
  // Triggers are chosen twice: first to know which short literals a rule
  // needs (the others stay out of the databases), then over the ids that made
  // it into them (vectorscan may refuse a pattern).
  const unsigned threads = thread_count();
  prefilter_.build(
      atoms_, group_atoms,
      [&] {
        choose_triggers();
        std::vector<bool> needed(prefilter_.id_count(), false);
        for (const Variant& v : variants_) {
          for (uint32_t id : v.trigger) needed[id] = true;
          for (uint32_t id : v.trigger2) needed[id] = true;
        }
        return needed;
      },
      threads);
  choose_triggers();
  derive_trigger_lists();
}

void RuleSet::choose_triggers() {
  // How selective each prefilter id is: the length of its literal (a whole
  // value compared for equality counts as long, unless it is a short one like
  // `high`, `3` or `0x0`: the values of an enumeration, common; a regex counts
  // as middling). An EventID the rule names says nothing: it is what its
  // candidate list is keyed by, so every event the rule is tried on has it
  // (Security 5145 rules were evaluated on every 5145 event, not only on those
  // with the share or file name they look for).
  static const NameId kEventId = intern("EventID");
  constexpr size_t kShortValue = 6;
  std::vector<size_t> weights(prefilter_.id_count(), 0);
  for (const Atom& a : atoms_)
    for (const Pattern& p : a.patterns) {
      if (p.prefilter == kNoPrefilter || p.prefilter >= weights.size()) continue;
      size_t w = p.kind == Pattern::Kind::Regex ? 6 : prefilter_literal(p).size();
      if (by_equality(p)) w = a.field == kEventId ? 1 : w > kShortValue ? w + 8 : w;
      weights[p.prefilter] = std::max(weights[p.prefilter], w);
    }
  auto weight = [&](uint32_t id) { return id < weights.size() ? weights[id] : size_t{0}; };
  auto normalise = [](std::vector<uint32_t>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  };
  std::vector<std::vector<uint32_t>> sets;
  for (Variant& v : variants_) {
    auto s = necessary(v.program, v.program.root, atoms_, weight);
    v.always = !s.has_value();
    v.trigger.clear();
    v.trigger2.clear();
    if (!s) continue;
    normalise(*s);
    v.trigger = std::move(*s);
    sets.clear();
    necessary_sets(v.program, v.program.root, atoms_, weight, sets);
    size_t best_weak = 0;
    for (auto& set : sets) {
      normalise(set);
      if (set.empty() || set == v.trigger) continue;
      size_t weak = SIZE_MAX;
      for (uint32_t id : set) weak = std::min(weak, weight(id));
      if (weak < kShortLiteral) continue;  // in nearly every event: see kShortLiteral
      if (weak > best_weak || (weak == best_weak && set.size() < v.trigger2.size())) {
        v.trigger2 = set;
        best_weak = weak;
      }
    }
  }
}

void RuleSet::derive_trigger_lists() {
  const size_t ids = prefilter_.id_count();
  trigger_offsets_.assign(ids + 1, 0);
  for (size_t v = 0; v < variants_.size(); ++v) {
    if (!variants_[v].always)
      for (uint32_t id : variants_[v].trigger) ++trigger_offsets_[id + 1];
  }
  for (size_t i = 0; i < ids; ++i) trigger_offsets_[i + 1] += trigger_offsets_[i];
  trigger_list_.assign(trigger_offsets_[ids], 0);
  std::vector<uint32_t> fill(trigger_offsets_.begin(), trigger_offsets_.end() - 1);
  for (size_t v = 0; v < variants_.size(); ++v)
    if (!variants_[v].always)
      for (uint32_t id : variants_[v].trigger) trigger_list_[fill[id]++] = static_cast<uint32_t>(v);

  // Fields (and keywords) each candidate list needs scanned.
  list_info_.clear();
  // A keyword pattern needs the text of non-string values unless its literal
  // (in every text it matches) cannot occur in such text.
  auto needs_non_strings = [](const Pattern& p) {
    switch (p.kind) {
      case Pattern::Kind::Null:
      case Pattern::Kind::Exists:
      case Pattern::Kind::Never: return false;
      case Pattern::Kind::String: return may_occur_in_non_string_text(prefilter_literal(p));
      default: return true;
    }
  };
  auto describe = [&](const std::vector<uint32_t>& list) {
    ListInfo info;
    bool non_strings = false;
    for (uint32_t v : list)
      for (const Expr& e : variants_[v].program.nodes) {
        if (e.op != Expr::Op::Atom) continue;
        const NameId field = atoms_[e.a].field;  // known before the atom is decoded
        if (field != kNoName) {
          info.fields.push_back(field);
          continue;
        }
        info.keywords = true;
        for (const Pattern& p : atom(e.a).patterns) non_strings = non_strings || needs_non_strings(p);
      }
    info.keywords_in_strings_only = info.keywords && !non_strings;
    std::sort(info.fields.begin(), info.fields.end());
    info.fields.erase(std::unique(info.fields.begin(), info.fields.end()), info.fields.end());
    if (!info.fields.empty()) info.field_bits.assign(info.fields.back() / 64 + 1, 0);
    for (NameId f : info.fields) info.field_bits[f / 64] |= uint64_t(1) << (f % 64);
    list_info_[&list] = std::move(info);
  };
  const auto lists = candidate_groups();
  variant_group_offsets_.assign(variants_.size() + 1, 0);
  for (size_t g = 0; g < lists.size(); ++g) {
    describe(*lists[g]);
    ListInfo& info = list_info_[lists[g]];
    info.group = static_cast<uint32_t>(g);
    for (uint32_t v : *lists[g]) {
      if (variants_[v].always) info.always.push_back(v);
      ++variant_group_offsets_[v + 1];
    }
  }
  for (size_t v = 0; v < variants_.size(); ++v) variant_group_offsets_[v + 1] += variant_group_offsets_[v];
  variant_groups_.assign(variant_group_offsets_.back(), 0);
  std::vector<uint32_t> at(variant_group_offsets_.begin(), variant_group_offsets_.end() - 1);
  for (size_t g = 0; g < lists.size(); ++g)
    for (uint32_t v : *lists[g]) variant_groups_[at[v]++] = static_cast<uint32_t>(g);
}

size_t RuleSet::add_text(const std::string& name, const std::string& text) {
  std::vector<RuleFile> files;
  files.push_back(parse_rule_file(name, text));
  return add_parsed(std::move(files));
}

size_t RuleSet::add_parsed(std::vector<RuleFile>&& files, std::vector<RuleFile>&& filter_files) {
  // Filters first, from every file, so that file order never matters.
  std::vector<Filter> filters;
  auto collect = [&](RuleFile& file, bool filters_only) {
    for (auto& o : file.other) {
      if (!o.node["filter"]) continue;
      Filter f;
      try {
        f.title = o.node["title"] ? o.node["title"].as<std::string>() : "";
        f.id = o.node["id"] ? o.node["id"].as<std::string>() : "";
        const YAML::Node fl = o.node["filter"];
        const YAML::Node rules = fl["rules"];
        if (rules && rules.IsScalar()) f.rules.push_back(rules.Scalar());
        else if (rules && rules.IsSequence())
          for (const auto& r : rules) f.rules.push_back(r.as<std::string>());
        YAML::Node det(YAML::NodeType::Map);
        for (const auto& kv : fl)
          if (kv.first.as<std::string>() != "rules") det[kv.first] = kv.second;
        f.detection = det;
      } catch (const YAML::Exception& e) {
        problems_.push_back({o.path, o.document, f.id, "filter", fmt::format("unexpected YAML structure: {}", e.what())});
        continue;
      }
      f.path = o.path;
      f.document = o.document;
      const std::string who = f.id.empty() ? f.title : f.id;
      if (f.rules.empty()) {
        problems_.push_back({f.path, f.document, who, "filter.rules", "must name the rules it applies to"});
        continue;
      }
      if (!f.detection["condition"]) {
        problems_.push_back({f.path, f.document, who, "filter.condition", "missing"});
        continue;
      }
      filters.push_back(std::move(f));
    }
    if (filters_only && !file.rules.empty())
      problems_.push_back({file.rules.front().path, 0, "", "",
                           fmt::format("{} rule(s) in a --filters file ignored: only filter documents are used there",
                                       file.rules.size()),
                           true});
  };
  for (RuleFile& f : files) collect(f, false);
  for (RuleFile& f : filter_files) collect(f, true);
  // A filter whose detection does not compile is refused on its own, under its
  // own file and id; the rules it names are compiled without it (otherwise
  // each would be refused, blamed on the rule's file, for the filter's fault).
  std::vector<uint8_t> filter_ok(filters.size(), 1);
  {
    static const std::map<std::string, std::string> kNoRenames;
    for (size_t i = 0; i < filters.size(); ++i) {
      Program scratch;
      ProgramBuilder b(scratch, kNoRenames, options_.placeholders, [](Atom&&) { return 0u; });
      uint32_t root;
      std::string field, error;
      if (!compile_detection(b, filters[i].detection, root, nullptr, &field, &error)) {
        const Filter& f = filters[i];
        problems_.push_back({f.path, f.document, f.id.empty() ? f.title : f.id, "filter " + field, error});
        filter_ok[i] = 0;
      }
    }
  }
  std::unordered_map<std::string, std::vector<size_t>> filters_by_ref;
  for (size_t i = 0; i < filters.size(); ++i)
    if (filter_ok[i])
      for (const auto& r : filters[i].rules) filters_by_ref[r].push_back(i);
  // Every rule reference of the files, usable or not, for the warning below.
  std::unordered_set<std::string> parsed_refs;
  for (const RuleFile& file : files)
    for (const Rule& r : file.rules) {
      if (!r.id.empty()) parsed_refs.insert(r.id);
      if (!r.name.empty()) parsed_refs.insert(r.name);
    }

  size_t added = 0;
  for (RuleFile& file : files) {
    problems_.insert(problems_.end(), file.problems.begin(), file.problems.end());
    for (Rule& r : file.rules) {
      std::vector<const Filter*> mine;
      for (const std::string* ref : {&r.id, &r.name}) {
        if (ref->empty()) continue;
        auto it = filters_by_ref.find(*ref);
        if (it == filters_by_ref.end()) continue;
        for (size_t i : it->second)
          if (std::find(mine.begin(), mine.end(), &filters[i]) == mine.end()) {
            mine.push_back(&filters[i]);
            filters[i].used = true;
          }
      }
      std::string field, error;
      std::vector<std::string> warnings;
      const uint32_t index = static_cast<uint32_t>(rules_.size());
      if (!compile(r, index, mine, &field, &error, &warnings)) {
        problems_.push_back({r.path, r.document, r.id.empty() ? r.title : r.id, field, error});
        continue;
      }
      for (auto& w : warnings) problems_.push_back({r.path, r.document, r.id.empty() ? r.title : r.id, "", w, true});
      r.detection = YAML::Node();  // compiled: the YAML is no longer needed
      rules_.push_back(std::move(r));
      ++added;
    }
  }
  for (size_t i = 0; i < filters.size(); ++i) {
    const Filter& f = filters[i];
    if (!filter_ok[i]) continue;  // refused above
    // Say which names matched nothing: a typo would silently keep the noise.
    // (A rule that exists but was refused has its own report.)
    for (const auto& ref : f.rules) {
      if (parsed_refs.count(ref)) continue;
      bool found = false;
      for (const Rule& r : rules_)
        if (r.id == ref || (!r.name.empty() && r.name == ref)) found = true;
      if (!found)
        problems_.push_back({f.path, f.document, f.id.empty() ? f.title : f.id, "filter.rules",
                             fmt::format("`{}` names no loaded rule", ref), true});
    }
  }

  // Correlations, once every rule they may name is known.
  for (RuleFile& file : files) {
    for (auto& o : file.other) {
      if (!o.node["correlation"]) continue;
      Correlation c;
      std::string field, error;
      if (!parse_correlation(o.node, c, &field, &error)) {
        problems_.push_back({o.path, o.document, c.meta.id.empty() ? c.meta.title : c.meta.id, field, error});
        continue;
      }
      c.meta.path = o.path;
      c.meta.document = o.document;
      correlation_rules_.push_back(static_cast<uint32_t>(rules_.size()));
      rules_.push_back(c.meta);
      correlations_.push_back(std::move(c));
      YAML::Emitter out;
      out << o.node;
      correlation_yaml_.push_back(out.c_str());
      ++added;
    }
  }
  return added;
}

size_t RuleSet::load_paths(const std::vector<std::string>& paths, const std::vector<std::string>& filter_paths) {
  std::vector<RuleProblem> read_problems;
  from_cache_ = false;
  files_read_ = 0;
  const bool cacheable = !options_.cache_dir.empty() && rule_count() == 0 && problems_.empty();
  // With the cache, the manifest of these paths says which directories and
  // rule files are unchanged since the last load (see rule_files.hpp).
  const int64_t taken_ns = wall_clock_ns();  // before any stat, for the racy check
  std::string manifest_file;
  RuleManifest manifest;
  if (cacheable) {
    manifest_file = RuleManifest::path(options_.cache_dir, paths);
    manifest.load(manifest_file);
  }
  unsigned threads = thread_count();
  WalkCounts walked;
  const std::vector<RuleFileEntry> files = find_rule_files(paths, read_problems, cacheable ? &manifest : nullptr,
                                                           nullptr, taken_ns, threads, &walked);
  dirs_listed_ = walked.listed;
  // --filters files (few): always read; only their filter documents are used.
  // They enter the cache key marked as filters, so the same file given with -r
  // and with --filters gives different keys.
  std::vector<RuleFileEntry> filter_entries;
  if (!filter_paths.empty()) filter_entries = find_rule_files(filter_paths, read_problems);
  std::vector<std::string> filter_texts(filter_entries.size());
  std::vector<HashedFile> filter_hashes;
  for (size_t i = 0; i < filter_entries.size(); ++i) {
    if (!read_whole_file(filter_entries[i].path, filter_texts[i])) {
      read_problems.push_back({filter_entries[i].path, 0, "", "", "cannot read"});
      continue;
    }
    filter_hashes.push_back({"filters:" + filter_entries[i].path, RuleCache::content_hash(filter_texts[i])});
  }
  const size_t n = files.size();
  threads = static_cast<unsigned>(std::min<size_t>(threads, n / 64 + 1));

  // Per file: its text once read, its content hash once known, whether reading failed.
  std::vector<std::string> texts(n);
  std::vector<uint64_t> hashes(n, 0);
  enum : uint8_t { kUnknown, kHashed, kRead, kUnreadable };
  std::vector<uint8_t> state(n, kUnknown);
  // Reading thousands of small files is mostly system calls: spread them over
  // the threads.
  auto read_files = [&](const std::vector<size_t>& which) {
    const unsigned t_count = static_cast<unsigned>(std::min<size_t>(threads, which.size() / 64 + 1));
    parallel_for(which.size(), t_count, [&](size_t k) {
      const size_t i = which[k];
      if (read_whole_file(files[i].path, texts[i])) {
        hashes[i] = RuleCache::content_hash(texts[i]);
        state[i] = kRead;
      } else {
        state[i] = kUnreadable;
      }
    });
  };

  uint64_t key = 0;
  if (cacheable) {
    // Content hashes from the manifest for files whose stat is unchanged; the
    // others are read now (and their text kept, should the cache miss).
    std::vector<size_t> misses;
    for (size_t i = 0; i < n; ++i) {
      if (manifest.lookup(files[i].path, files[i].stamp, hashes[i]))
        state[i] = kHashed;
      else
        misses.push_back(i);
    }
    read_files(misses);
    files_read_ = misses.size();
    std::vector<HashedFile> hashed;
    hashed.reserve(n);
    for (size_t i = 0; i < n; ++i)
      if (state[i] != kUnreadable) hashed.push_back({files[i].path, hashes[i]});
    // The manifest is written again only when it would change: when a
    // directory had to be listed, a file was not in it under its recorded
    // stamp (or was racy), or the walk met more or fewer of either. Recording
    // it costs a second walk, but only after a change, which costs reading
    // files anyway; an unchanged tree (every warm start) records nothing.
    const bool unchanged = misses.empty() && walked.listed == 0 && walked.dirs == manifest.dir_count() &&
                           n == manifest.size();
    if (!unchanged) {
      RuleManifest updated;
      std::vector<RuleProblem> again;  // already reported by the first walk
      find_rule_files(paths, again, &manifest, &updated, taken_ns, 1);
      for (size_t i = 0; i < n; ++i)
        if (state[i] != kUnreadable) updated.add(files[i].path, files[i].stamp, hashes[i], taken_ns);
      if (!(updated == manifest)) updated.save(manifest_file);
    }
    hashed.insert(hashed.end(), filter_hashes.begin(), filter_hashes.end());
    key = RuleCache::key(*this, hashed);
    from_cache_ = RuleCache::load(*this, RuleCache::path(options_.cache_dir, key), key);
  }
  if (!from_cache_) {
    std::vector<size_t> unread;
    for (size_t i = 0; i < n; ++i)
      if (state[i] == kUnknown || state[i] == kHashed) unread.push_back(i);
    read_files(unread);
    files_read_ += unread.size();
    // YAML parsing is the slow part and each file stands alone: parse in parallel,
    // then compile in file order so atom ids and results never depend on threads.
    std::vector<size_t> readable;
    for (size_t i = 0; i < n; ++i)
      if (state[i] == kRead) readable.push_back(i);
    std::vector<RuleFile> parsed(readable.size());
    parallel_for(readable.size(), threads,
                 [&](size_t k) { parsed[k] = parse_rule_file(files[readable[k]].path, texts[readable[k]]); });
    std::vector<RuleFile> filter_files;
    for (size_t i = 0; i < filter_entries.size(); ++i)
      if (!filter_texts[i].empty()) filter_files.push_back(parse_rule_file(filter_entries[i].path, filter_texts[i]));
    add_parsed(std::move(parsed), std::move(filter_files));
    finalize();
    if (cacheable) {
      // The key of what was compiled: the texts just read (a file may have
      // changed, or become unreadable, since its hash came from the manifest).
      std::vector<HashedFile> hashed;
      hashed.reserve(readable.size());
      for (size_t i : readable) hashed.push_back({files[i].path, hashes[i]});
      hashed.insert(hashed.end(), filter_hashes.begin(), filter_hashes.end());
      key = RuleCache::key(*this, hashed);
      RuleCache::save(*this, RuleCache::path(options_.cache_dir, key), key);
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (state[i] == kUnreadable) read_problems.push_back({files[i].path, 0, "", "", "cannot read"});
  problems_.insert(problems_.begin(), read_problems.begin(), read_problems.end());
  return rule_count();
}

bool RuleSet::product_lists(const Event& ev, const std::vector<uint32_t>* out[2], int& n) const {
  n = 0;
  for (const auto& fp : options_.logsources->field_products()) {
    const Value* v = ev.get(fp.field);
    if (!v) continue;
    std::string key = fp.product + "/";
    if (auto any = by_product_service_.find(key); any != by_product_service_.end()) out[n++] = &any->second;
    append_text(key, *v);
    for (size_t i = fp.product.size() + 1; i < key.size(); ++i)
      if (key[i] >= 'A' && key[i] <= 'Z') key[i] = char(key[i] + 32);
    if (auto it = by_product_service_.find(key); it != by_product_service_.end()) out[n++] = &it->second;
    return true;
  }
  return false;
}

int RuleSet::candidate_lists(std::string_view channel_lower, bool has_channel, uint32_t event_id, bool has_event_id,
                             const std::vector<uint32_t>* out[4]) const {
  int n = 0;
  if (!has_channel) {
    out[n++] = &non_windows_;
    return n;
  }
  out[n++] = &any_windows_;
  out[n++] = &provider_only_;
  auto it = by_channel_.find(std::string(channel_lower));
  if (it == by_channel_.end()) return n;
  out[n++] = &it->second.any_event_id;
  if (has_event_id) {
    auto e = it->second.by_event_id.find(event_id);
    if (e != it->second.by_event_id.end()) out[n++] = &e->second;
  }
  return n;
}

namespace {
// The scan memo's size (a power of two), the longest value it keeps and the
// most ids it keeps for one: a worker's memo holds at most 4 MB of text and
// 1 MB of ids, far less on real logs.
constexpr size_t kScanMemoSize = 4096, kScanMemoText = 1024, kScanMemoIds = 64;
}  // namespace

Matcher::Matcher(const RuleSet& rules)
    : rules_(rules), memo_gen_(rules.atom_count(), 0), memo_val_(rules.atom_count(), 0),
      rule_seen_(rules.rule_count(), 0), hit_gen_(rules.prefilter().id_count(), 0),
      variant_done_(rules.variant_count(), 0), scan_memo_(kScanMemoSize),
      scan_seen_(rules.prefilter().id_count(), 0), scratch_fits_(rules.prefilter().db_count(), 0) {}

Matcher::~Matcher() {
  if (scratch_) hs_free_scratch(scratch_);
}

const hs_database_t* Matcher::ready(const Prefilter::Db& d) {
  const hs_database_t* db = d.get();  // deserialised at its first use
  if (!db) return nullptr;
  if (!scratch_fits_[d.ordinal()]) {  // the scratch grows to fit each database as it is met
    if (hs_alloc_scratch(db, &scratch_) != HS_SUCCESS) return nullptr;
    scratch_fits_[d.ordinal()] = 1;
  }
  return db;
}

// Scans `text`, appending to `out` each id reported whose `seen` entry is not
// `stamp` yet (and stamping it): each id once, in report order.
hs_error_t Matcher::scan_into(const hs_database_t* db, std::string_view text, std::vector<uint32_t>& seen,
                              uint32_t stamp, std::vector<uint32_t>& out) {
  struct Ctx {
    uint32_t* seen;
    size_t size;
    std::vector<uint32_t>* out;
    uint32_t stamp;
  } ctx{seen.data(), seen.size(), &out, stamp};
  return hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch_,
                 [](unsigned id, unsigned long long, unsigned long long, unsigned, void* c) -> int {
                   auto* x = static_cast<Ctx*>(c);
                   if (id < x->size && x->seen[id] != x->stamp) {  // ids may come from a cache file: check
                     x->seen[id] = x->stamp;
                     x->out->push_back(id);
                   }
                   return 0;
                 },
                 &ctx);
}

void Matcher::scan(const Prefilter::Db& d, std::string_view text) {
  if (const hs_database_t* db = ready(d)) scan_into(db, text, hit_gen_, gen_, hit_list_);
}

void Matcher::scan_value(const Prefilter::Db& d, std::string_view text, uint64_t text_hash) {
  if (text.size() > kScanMemoText) return scan(d, text);
  ScanMemo& m = scan_memo_[(text_hash ^ (d.ordinal() * 0x9E3779B97F4A7C15ull)) & (kScanMemoSize - 1)];
  if (m.db == d.ordinal() && m.hash == text_hash && m.text == text) {
    for (uint32_t id : m.ids) mark_hit(id);
    return;
  }
  const hs_database_t* db = ready(d);
  if (!db) return;
  if (++scan_no_ == 0) {  // wrapped
    std::fill(scan_seen_.begin(), scan_seen_.end(), 0);
    scan_no_ = 1;
  }
  scan_ids_.clear();
  const hs_error_t err = scan_into(db, text, scan_seen_, scan_no_, scan_ids_);
  for (uint32_t id : scan_ids_) mark_hit(id);
  // Not kept: a scan that failed (it may have reported only some ids), or one
  // that reported so many ids that a memo of such values (a crafted log) would
  // grow large.
  if (err != HS_SUCCESS || scan_ids_.size() > kScanMemoIds) return;
  m.db = d.ordinal();
  m.hash = text_hash;
  m.text.assign(text);
  m.ids.assign(scan_ids_.begin(), scan_ids_.end());
}

bool Matcher::atom(uint32_t index) {
  if (memo_gen_[index] == gen_) return memo_val_[index];
  const bool v = match_atom(rules_.atom(index), view_);
  memo_gen_[index] = gen_;
  memo_val_[index] = v;
  return v;
}

bool Matcher::eval(const Program& p, uint32_t n) {
  const Expr& e = p.nodes[n];
  switch (e.op) {
    case Expr::Op::Atom: return atom(e.a);
    case Expr::Op::And:
      for (uint32_t k = 0; k < e.b; ++k)
        if (!eval(p, p.kids[e.a + k])) return false;
      return true;
    case Expr::Op::Or:
      for (uint32_t k = 0; k < e.b; ++k)
        if (eval(p, p.kids[e.a + k])) return true;
      return false;
    case Expr::Op::Not: return !eval(p, e.a);
    case Expr::Op::True: return true;
    case Expr::Op::False: return false;
  }
  return false;
}

void Matcher::match(const Event& ev, std::vector<uint32_t>& hits) {
  hit_variants_.clear();
  if (++gen_ == 0) {  // wrapped: clear the memo
    std::fill(memo_gen_.begin(), memo_gen_.end(), 0);
    std::fill(rule_seen_.begin(), rule_seen_.end(), 0);
    std::fill(hit_gen_.begin(), hit_gen_.end(), 0);
    std::fill(variant_done_.begin(), variant_done_.end(), 0);
    gen_ = 1;
  }
  const Value* ch = ev.get(channel_);
  lower_.clear();
  if (ch) append_text(lower_, *ch);
  for (char& c : lower_)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  uint32_t eid = 0;
  bool has_eid = false;
  if (const Value* e = ev.get(event_id_)) {
    if (e->type == ValueType::UInt) {
      eid = static_cast<uint32_t>(e->u);
      has_eid = true;
    } else if (e->type == ValueType::Int) {
      eid = static_cast<uint32_t>(e->i);
      has_eid = true;
    } else if (e->is_string()) {
      const auto s = e->as_string();
      has_eid = !s.empty();
      for (char c : s) {
        if (c < '0' || c > '9') {
          has_eid = false;
          break;
        }
        eid = eid * 10 + static_cast<uint32_t>(c - '0');
      }
    }
  }
  const std::vector<uint32_t>* lists[4];
  int n_lists = 0;
  if (ch || !rules_.product_lists(ev, lists, n_lists))
    n_lists = rules_.candidate_lists(lower_, ch != nullptr, eid, has_eid, lists);
  bool any = false;
  for (int l = 0; l < n_lists; ++l) any = any || !lists[l]->empty();
  if (!any) return;
  view_.reset(ev);
  // One prefilter scan per value: of its field's databases (when a candidate
  // rule looks at the field), and of the keywords' (when one searches keywords).
  const RuleSet::ListInfo* infos[4];
  bool keywords = false, keyword_non_strings = false;
  uint32_t groups[4];
  for (int l = 0; l < n_lists; ++l) {
    infos[l] = &rules_.list_info(lists[l]);
    groups[l] = infos[l]->group;
    keywords |= infos[l]->keywords;
    keyword_non_strings |= infos[l]->keywords && !infos[l]->keywords_in_strings_only;
  }
  auto wanted = [&](NameId field) {
    for (int l = 0; l < n_lists; ++l)
      if (infos[l]->looks_at(field)) return true;
    return false;
  };
  hit_list_.clear();
  const Prefilter& pf = rules_.prefilter();
  const auto& names = view_.field_names();
  const Prefilter::Db* dbs[8];
  for (size_t i = 0; i < names.size(); ++i) {
    // Most of an event's fields no candidate rule looks at: the lists' field
    // bits say so before the large, sparse database index is touched (a
    // cache miss per field and group).
    if (!wanted(names[i])) continue;
    // The databases of this field in the event's groups (only groups whose
    // rules look at the field have one), and the field's equality table.
    int n_dbs = 0;
    auto add_db = [&](const Prefilter::Db* d) {  // once: groups of one event may share a database
      if (d && std::find(dbs, dbs + n_dbs, d) == dbs + n_dbs) dbs[n_dbs++] = d;
    };
    for (int l = 0; l < n_lists; ++l) {
      add_db(pf.db_for(infos[l]->group, names[i]));
      add_db(pf.regex_db_for(infos[l]->group, names[i]));
    }
    const EqualsTable* eq = pf.equals_for(names[i]);
    if (!n_dbs && !eq) continue;
    view_.for_each_slot_of(i, [&](EventView::Slot& s) {
      if (eq && !s.null) {
        for (uint32_t id : eq->find(view_.lower_of(s))) mark_hit(id);
      }
      if (n_dbs) {
        const std::string_view text = view_.text_of(s);
        const uint64_t hash = text.size() <= kScanMemoText ? XXH3_64bits(text.data(), text.size()) : 0;
        for (int k = 0; k < n_dbs; ++k) scan_value(*dbs[k], text, hash);
      }
    });
  }
  // Keywords may be anywhere: one scan over all the values at once (a literal
  // straddling two values is a false lead the exact matcher then dismisses).
  if (keywords) {
    bool joined = false;
    for (int l = 0; l < n_lists; ++l) {
      const Prefilter::Db* kw_db = pf.keyword_db(infos[l]->group);
      if (!kw_db) continue;
      bool scanned = false;  // a database shared by two of the event's groups
      for (int k = 0; k < l; ++k) scanned = scanned || pf.keyword_db(infos[k]->group) == kw_db;
      if (scanned) continue;
      if (!joined) {
        all_values_.clear();
        for (auto& s : view_.slots()) {
          if (!keyword_non_strings && s.value->type != ValueType::String) continue;  // no keyword in it
          all_values_.append(view_.text_of(s));
          all_values_ += '\n';
        }
        joined = true;
      }
      scan(*kw_db, all_values_);
    }
  }
  view_.set_prefilter_hits(hit_gen_.data(), gen_);
  provider_done_ = false;
  const size_t first = hits.size();
  // The variants without a trigger set, then those the prefilter triggered
  // that belong to one of the event's candidate lists.
  for (int l = 0; l < n_lists; ++l)
    for (uint32_t v : infos[l]->always) evaluate(v, ev, hits);
  for (uint32_t id : hit_list_) {
    const auto [b, e] = rules_.triggered_by(id);
    for (const uint32_t* v = b; v != e; ++v)
      if (rules_.in_groups(*v, groups, n_lists)) evaluate(*v, ev, hits);
  }
  // Rules in a fixed order, whatever order the prefilter reported hits in;
  // each keeps its variant, which explain() looks up by the same position.
  if (hits.size() - first > 1) {
    sorted_hits_.clear();
    for (size_t i = first; i < hits.size(); ++i) sorted_hits_.emplace_back(hits[i], hit_variants_[i - first]);
    std::sort(sorted_hits_.begin(), sorted_hits_.end());
    for (size_t i = first; i < hits.size(); ++i) {
      hits[i] = sorted_hits_[i - first].first;
      hit_variants_[i - first] = sorted_hits_[i - first].second;
    }
  }
}

void Matcher::evaluate(uint32_t v, const Event& ev, std::vector<uint32_t>& hits) {
  if (variant_done_[v] == gen_) return;
  variant_done_[v] = gen_;
  const Variant& var = rules_.variant(v);
  if (rule_seen_[var.rule] == gen_) return;
  if (var.program.nodes.empty()) return;  // a cached one that could not be read (RuleSet::pieces_failed)
  if (!var.trigger2.empty()) {  // the rule's second necessary literal, when it has one
    bool seen = false;
    for (uint32_t id : var.trigger2) seen = seen || hit_gen_[id] == gen_;
    if (!seen) return;
  }
  if (!var.provider.empty()) {
    if (!provider_done_) {
      provider_text_.clear();
      if (const Value* pv = ev.get(provider_)) append_text(provider_text_, *pv);
      for (char& c : provider_text_)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      provider_done_ = true;
    }
    if (provider_text_ != var.provider) return;
  }
  if (eval(var.program, var.program.root)) {
    rule_seen_[var.rule] = gen_;
    hits.push_back(var.rule);
    hit_variants_.push_back(v);
  }
}

void Matcher::explain(size_t hit_index, std::string& json) {
  json.clear();
  json += '[';
  if (hit_index >= hit_variants_.size()) {
    json += ']';
    return;
  }
  const Program& p = rules_.variant(hit_variants_[hit_index]).program;
  std::vector<uint32_t> atoms, stack;
  std::vector<std::pair<NameId, std::string_view>> values;
  bool first = true;
  for (const auto& [name, node] : p.selections) {
    if (!eval(p, node)) continue;
    // The atoms that hold under this selection, not under a `not`.
    atoms.clear();
    stack.assign(1, node);
    while (!stack.empty()) {
      const Expr& e = p.nodes[stack.back()];
      stack.pop_back();
      if (e.op == Expr::Op::Atom) {
        if (atom(e.a) && std::find(atoms.begin(), atoms.end(), e.a) == atoms.end()) atoms.push_back(e.a);
      } else if (e.op == Expr::Op::And || e.op == Expr::Op::Or) {
        for (uint32_t k = e.b; k-- > 0;) stack.push_back(p.kids[e.a + k]);
      }
    }
    for (uint32_t a : atoms) {
      const Atom& at = rules_.atom(a);
      if (at.negate) continue;
      values.clear();
      matching_values(at, view_, values, 3);
      if (values.empty() && at.field != kNoName) {
        // null / exists tests: name the field, no value
        if (!first) json += ',';
        first = false;
        json += "{\"selection\":";
        append_json_string(json, name);
        json += ",\"field\":";
        append_json_string(json, name_text(at.field));
        json += ",\"value\":null}";
      }
      for (const auto& [field, text] : values) {
        if (!first) json += ',';
        first = false;
        json += "{\"selection\":";
        append_json_string(json, name);
        json += ",\"field\":";
        append_json_string(json, field == kNoName ? std::string_view() : name_text(field));
        json += ",\"value\":";
        append_json_string(json, text);
        json += '}';
      }
    }
  }
  json += ']';
}

}  // namespace vigil::sigma
