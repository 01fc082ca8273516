// Compiled Sigma rules, indexed so an event is tried only against the rules
// whose logsource can cover it (by Channel and EventID), with identical value
// tests shared across rules and evaluated at most once per event.
#pragma once
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "detection/logsource_map.hpp"
#include "detection/sigma/correlation.hpp"
#include "detection/sigma/pattern.hpp"
#include "detection/sigma/prefilter.hpp"
#include "detection/sigma/rule.hpp"

namespace vigil::sigma {

// A boolean program over shared atoms. And/Or: children kids[a, a+b); Not: child a;
// Atom: atoms[a].
struct Expr {
  enum class Op : uint8_t { And, Or, Not, Atom, True, False };
  Op op;
  uint32_t a = 0, b = 0;
};

struct Program {
  std::vector<Expr> nodes;
  std::vector<uint32_t> kids;
  uint32_t root = 0;
  // The rule's search identifiers (selections) and their nodes, in rule order:
  // only for explaining a detection, never on the matching path.
  std::vector<std::pair<std::string, uint32_t>> selections;
};

// One way a rule applies: its program compiled with the field names of one
// event source (Security 4688 names Image `NewProcessName`).
struct Variant {
  uint32_t rule = 0;
  Program program;
  std::string provider;  // lower-case Provider_Name required, empty = any
  // The rule can only match when one of these prefilter ids was hit; when
  // `always` is set no such set exists (negations, regexes...) and the rule is
  // evaluated on every event of its logsource.
  std::vector<uint32_t> trigger;
  bool always = true;
  // A second set of which one id must be hit too, from another part of the
  // rule, when there is a selective one: a rule triggered by a common literal
  // (`\cmd.exe`, Provider msiinstaller) is evaluated only when its rarer
  // literal was seen as well. Empty: none.
  std::vector<uint32_t> trigger2;
};

struct RuleSetOptions {
  std::shared_ptr<LogSourceMap> logsources;
  Placeholders placeholders;
  // Where compiled rule sets are cached (keyed by the content of every rule
  // file, the mapping and the placeholders); empty disables the cache.
  std::string cache_dir;
  unsigned threads = 0;  // for parsing rule files; 0 = all cores
};

class RuleSet {
 public:
  explicit RuleSet(RuleSetOptions options);

  // Loads every *.yml / *.yaml under the paths (files or directories). Unusable
  // rules are skipped and listed in problems(); returns the number of rules added.
  // Filter documents (Sigma meta filters) found anywhere apply to the rules they
  // name; `filter_paths` adds files whose filter documents only are used (an
  // organisation's exclusions, kept apart from the rules). Correlation
  // documents become correlations() with a meta rule each. Meant to be called
  // once, on an empty set: it may take the whole compiled set from the cache.
  size_t load_paths(const std::vector<std::string>& paths, const std::vector<std::string>& filter_paths = {});
  // True when the last load_paths came from the cache.
  bool loaded_from_cache() const { return from_cache_; }
  // How many rule files the last load_paths read (with the cache's manifest, a
  // warm load of unchanged files reads none).
  size_t rule_files_read() const { return files_read_; }
  // How many directories the last load_paths listed (the manifest holds the
  // listings of unchanged ones: a warm start lists none).
  size_t directories_listed() const { return dirs_listed_; }
  // Loads rules from YAML text (for tests and embedded packs). Not after a
  // load_paths that came from the cache (its atoms carry no sharing keys).
  size_t load_text(const std::string& name, const std::string& text);

  size_t rule_count() const { return rule_made_ ? rule_heads_.size() : rules_.size(); }
  // How many rules are made (all of a compiled set's; see rule()).
  size_t rules_made() const;
  // The i-th rule (its detection YAML only in a compiled set). A set from the
  // cache makes a rule from its bytes in the file at the first call for it: a
  // hunt shows a few dozen of thousands of rules, and making them all at load
  // took ~800 fresh pages and ~15,000 allocations for SigmaHQ. Thread-safe;
  // the reference stays valid with the set.
  const Rule& rule(size_t i) const {
    if (!rule_made_) return rules_[i];
    if (rule_made_[i].load(std::memory_order_acquire)) return *cached_rules_[i];
    return make_rule(i);
  }
  Level rule_level(size_t i) const { return rule_made_ ? rule_heads_[i].level : rules_[i].level; }
  // Makes every rule of a set from the cache now, reading the file in large
  // blocks: for callers about to look at all of them (rules check, selection
  // by status or id), where one read a rule would cost more.
  void make_all_rules() const;
  // Correlation rules, and the index (rule()) of each one's meta rule (a rule
  // with no detection of its own, that stands for the correlation's results).
  const std::vector<Correlation>& correlations() const { return correlations_; }
  const std::vector<uint32_t>& correlation_rules() const { return correlation_rules_; }
  const std::vector<RuleProblem>& problems() const { return problems_; }
  // The atoms (value tests) the variants' programs refer to. A set from the
  // cache decodes an atom's patterns at the first call for it: an event source
  // meets a fraction of the rules (evtx-attack-samples evaluates about a fifth
  // of the SigmaHQ atoms), and decoding all 43,000 patterns took 7-14 ms of
  // every warm start. Thread-safe.
  size_t atom_count() const { return atom_decoded_ ? atom_heads_.size() : atoms_.size(); }
  const Atom& atom(uint32_t i) const {
    if (!atom_decoded_) return atoms_[i];
    if (atom_decoded_[i].load(std::memory_order_acquire)) return *cached_atoms_[i];
    return decode_atom(i);
  }
  // How many atoms are decoded (all of a compiled set's).
  size_t atoms_decoded() const;
  // The variants, decoded at first use in a set from the cache like its atoms
  // (an event source meets a fraction of them). Thread-safe.
  size_t variant_count() const { return variant_decoded_ ? variant_at_.size() : variants_.size(); }
  const Variant& variant(uint32_t v) const {
    if (!variant_decoded_) return variants_[v];
    if (variant_decoded_[v].load(std::memory_order_acquire)) return *cached_variants_[v];
    return decode_variant(v);
  }
  size_t variants_decoded() const;
  // Pieces of a cached set (rules, atoms, variants) that could not be
  // read from the cache file at their first use: it was cut or rewritten in
  // place since the set was loaded (Vigil itself only ever replaces one
  // whole). Their rules may be missed, as a failed database's are.
  size_t pieces_failed() const { return pieces_failed_.load(); }
  const Prefilter& prefilter() const { return prefilter_; }

  // The lists of variants that may apply to an event of this channel
  // (lower-case) and id; `has_channel` false means a non-Windows event. Returns
  // how many lists it put in `out` (at most 4).
  int candidate_lists(std::string_view channel_lower, bool has_channel, uint32_t event_id, bool has_event_id,
                      const std::vector<uint32_t>* out[4]) const;
  // For an event without a Channel: the variants of a field-known product
  // (Zeek) when the event holds its field (`value` is the field's value, e.g.
  // the Zeek log type); false when the event is of no such product.
  bool product_lists(const Event& ev, const std::vector<uint32_t>* out[2], int& n) const;
  // Variants whose trigger set contains a prefilter id.
  std::pair<const uint32_t*, const uint32_t*> triggered_by(uint32_t prefilter_id) const {
    return {trigger_list_.data() + trigger_offsets_[prefilter_id],
            trigger_list_.data() + trigger_offsets_[prefilter_id + 1]};
  }
  // Whether a variant is in one of these groups (ListInfo::group): whether
  // it applies to an event whose candidate lists they are.
  bool in_groups(uint32_t variant, const uint32_t* groups, int n) const {
    for (uint32_t k = variant_group_offsets_[variant]; k < variant_group_offsets_[variant + 1]; ++k)
      for (int i = 0; i < n; ++i)
        if (variant_groups_[k] == groups[i]) return true;
    return false;
  }

  // What the variants of one candidate list look at: their fields (sorted) and
  // whether any searches keywords. An event's values are scanned only for that.
  struct ListInfo {
    std::vector<NameId> fields;
    // The same fields as bits by NameId: asked for every value of every event.
    std::vector<uint64_t> field_bits;
    bool looks_at(NameId field) const {
      const size_t word = field >> 6;
      return word < field_bits.size() && (field_bits[word] >> (field & 63) & 1);
    }
    bool keywords = false;
    // No keyword of these variants can be found in the text of a number, time,
    // boolean or binary value: the keyword scan leaves those values out.
    bool keywords_in_strings_only = false;
    uint32_t group = 0xFFFFFFFFu;  // the list's number: its prefilter databases (none when unknown)
    std::vector<uint32_t> always;  // its variants without a trigger set: evaluated on every event
  };
  const ListInfo& list_info(const std::vector<uint32_t>* list) const {
    static const ListInfo kEmpty;
    auto it = list_info_.find(list);
    return it == list_info_.end() ? kEmpty : it->second;
  }

 private:
  struct Filter {
    std::string title, id, path;
    int document = 0;
    std::vector<std::string> rules;  // ids or names
    YAML::Node detection;            // selections and condition
    bool used = false;
  };
  bool compile(Rule& rule, uint32_t index, const std::vector<const Filter*>& filters, std::string* field,
               std::string* error, std::vector<std::string>* warnings);
  uint32_t atom_index(Atom&& atom);
  size_t add_text(const std::string& name, const std::string& text);
  // Compiles parsed files: filters first (from any of them, and from
  // `filter_files`), then rules with the filters that name them, then
  // correlations.
  size_t add_parsed(std::vector<RuleFile>&& files, std::vector<RuleFile>&& filter_files = {});
  // Builds the prefilter and each variant's trigger set; run after loading.
  void finalize();
  void choose_triggers();  // each variant's trigger set, from the patterns' prefilter ids
  void derive_trigger_lists();
  // Every candidate list, in a fixed order (the same for a built and a cached
  // set): a list's place is its prefilter group.
  std::vector<const std::vector<uint32_t>*> candidate_groups() const;

  friend struct RuleCache;

  RuleSetOptions options_;
  // Threads loading and compiling may use: options_.threads, or all cores.
  unsigned thread_count() const;
  bool from_cache_ = false;
  size_t files_read_ = 0, dirs_listed_ = 0;
  // A cached set's pieces decoded at first use stay in the cache file until
  // then, read with pread through the prefilter's descriptor: copying them
  // all at load was 4.5 MB of fresh memory for SigmaHQ (~1,100 page faults,
  // 3-11 µs each on the development VMs), of which a hunt of the attack
  // samples reads under 1 MB. A span is where one kind of piece lies.
  struct FileSpan {
    uint64_t at = 0, size = 0;
  };
  // The piece at [offset, end) of `span` (valid until this thread's next
  // read), or false when the file no longer has it.
  bool read_piece(FileSpan span, uint64_t offset, uint64_t end, std::string_view& out) const;
  mutable std::atomic<size_t> pieces_failed_{0};
  // A compiled set's rules. A cached set has none here: rule_heads_ holds
  // what a load needs of each, the rest stays in the file (rule_span_, at
  // the head's offset) until rule_made_[i] is set and the rule made in
  // cached_rules_[i] (see rule()).
  std::vector<Rule> rules_;
  struct RuleHead {
    Level level = Level::Medium;
    bool level_given = false;
    int document = 0;
    uint32_t at = 0, size = 0;
  };
  std::vector<RuleHead> rule_heads_;
  FileSpan rule_span_;
  mutable std::vector<std::unique_ptr<Rule>> cached_rules_;
  std::unique_ptr<std::atomic<uint8_t>[]> rule_made_;
  const Rule& make_rule(size_t i) const;
  void make_rule_from(size_t i, std::string_view bytes) const;  // under its decode_mutex
  // For what is decoded at first use (rules, atoms, variants): a lock per
  // stripe of items, not one for all, so that workers starting on the same
  // corpus do not queue behind each other's reads (a two-thread all-rules hunt
  // of evtx-attack-samples: 6,104 futex calls with one lock, 453 with these).
  static constexpr size_t kDecodeStripes = 64;
  mutable std::array<std::mutex, kDecodeStripes> decode_mutexes_;
  std::mutex& decode_mutex(size_t kind, size_t i) const { return decode_mutexes_[(i * 3 + kind) % kDecodeStripes]; }
  std::vector<RuleProblem> problems_;
  // A compiled set's atoms. A cached set has none here: it knows each atom's
  // field, `all` and `negate` from the start (atom_heads_); atom i's patterns
  // are encoded at atom_at_[i] (offset, count) in atom_span_ until
  // atom_decoded_[i] is set (see atom()) and the atom made in
  // cached_atoms_[i] (a hunt of the attack samples needs a fifth of the
  // SigmaHQ atoms: all of them made at load were 160 fresh pages). The names
  // they refer to are interned in atom_names_ (a cached set's own numbering).
  std::vector<Atom> atoms_;
  struct AtomHead {
    NameId field = kNoName;
    bool all = false, negate = false;
  };
  std::vector<AtomHead> atom_heads_;
  mutable std::vector<std::unique_ptr<Atom>> cached_atoms_;
  FileSpan atom_span_;
  std::vector<std::pair<uint32_t, uint32_t>> atom_at_;
  std::vector<NameId> atom_names_;
  std::unique_ptr<std::atomic<uint8_t>[]> atom_decoded_;
  const Atom& decode_atom(uint32_t i) const;
  std::unordered_map<std::string, uint32_t> atom_ids_;
  // A compiled set's variants. A cached set's: variant v encoded at
  // variant_at_[v] in variant_span_ until variant_decoded_[v] is set (see
  // variant()) and the variant made in cached_variants_[v], as atoms are.
  // Their derived tables (trigger lists, groups, list infos) come from the
  // cache.
  std::vector<Variant> variants_;
  mutable std::vector<std::unique_ptr<Variant>> cached_variants_;
  FileSpan variant_span_;
  std::vector<uint32_t> variant_at_;
  std::unique_ptr<std::atomic<uint8_t>[]> variant_decoded_;
  const Variant& decode_variant(uint32_t v) const;
  Prefilter prefilter_;
  std::vector<Correlation> correlations_;
  std::vector<uint32_t> correlation_rules_;
  std::vector<std::string> correlation_yaml_;  // each correlation's document, for the cache

  struct ChannelIndex {
    std::unordered_map<uint32_t, std::vector<uint32_t>> by_event_id;
    std::vector<uint32_t> any_event_id;
  };
  std::unordered_map<std::string, ChannelIndex> by_channel_;
  std::vector<uint32_t> provider_only_;  // sources keyed by provider alone
  std::vector<uint32_t> any_windows_;    // product windows, no narrower logsource
  std::vector<uint32_t> non_windows_;    // other products: events without a Channel
  // Products known by a field (Zeek): "product/service" (or "product/" for any
  // service) -> variants. Events holding the field see only these.
  std::unordered_map<std::string, std::vector<uint32_t>> by_product_service_;

  // Derived by finalize(), never cached: prefilter id -> variants (CSR), and
  // variant -> the groups it is in (CSR).
  std::vector<uint32_t> trigger_offsets_, trigger_list_;
  std::vector<uint32_t> variant_group_offsets_, variant_groups_;
  std::unordered_map<const std::vector<uint32_t>*, ListInfo> list_info_;
};

// Per-worker matching state: the event view and the per-event atom memo.
class Matcher {
 public:
  explicit Matcher(const RuleSet& rules);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;
  // Appends the index of every rule that matches the event (each rule once).
  void match(const Event& ev, std::vector<uint32_t>& rules_hit);
  // Why the i-th rule the last match() appended fired, as a JSON array of
  // {"selection","field","value"}: each selection of the rule that holds on the
  // event, with the field values that satisfied it (negated tests, which match
  // by absence, name no value). Call before the next match(); costs a
  // re-evaluation, so only for hits.
  void explain(size_t hit_index, std::string& json);

 private:
  bool eval(const Program& p, uint32_t node);
  bool atom(uint32_t index);
  // The database, deserialised, with the scratch grown to fit it; null when
  // it cannot be had.
  const hs_database_t* ready(const Prefilter::Db& db);
  hs_error_t scan_into(const hs_database_t* db, std::string_view text, std::vector<uint32_t>& seen, uint32_t stamp,
                       std::vector<uint32_t>& out);
  // Scans a text with a database, marking the prefilter ids it reports as hit.
  void scan(const Prefilter::Db& db, std::string_view text);
  // The same for a field value, through the memo of recent field scans.
  void scan_value(const Prefilter::Db& db, std::string_view text, uint64_t text_hash);
  void mark_hit(uint32_t id) {
    if (hit_gen_[id] != gen_) {
      hit_gen_[id] = gen_;
      hit_list_.push_back(id);
    }
  }
  void evaluate(uint32_t variant, const Event& ev, std::vector<uint32_t>& rules_hit);

  const RuleSet& rules_;
  EventView view_;
  std::vector<uint32_t> memo_gen_;
  std::vector<uint8_t> memo_val_;
  uint32_t gen_ = 0;
  std::vector<uint32_t> rule_seen_;
  std::vector<uint32_t> hit_gen_;  // prefilter id -> generation of its last hit
  std::vector<uint32_t> hit_list_;      // prefilter ids hit by this event
  std::vector<uint32_t> variant_done_;  // variant -> generation it was evaluated in
  std::vector<uint32_t> hit_variants_;  // the variant behind each hit of the last match()
  std::vector<std::pair<uint32_t, uint32_t>> sorted_hits_;  // (rule, variant), to sort the hits
  std::string provider_text_;
  std::string all_values_;  // the event's values joined, for the keyword scan
  bool provider_done_ = false;
  // What recent field scans reported, by database and text. Logs repeat
  // their values (image paths, the command lines of services and tasks): 85%
  // of the field scans of evtx-attack-samples repeat an earlier one, and a scan
  // of a large literal database costs ~1,000 instructions even for a short
  // value. Direct-mapped; the text is kept and compared, so a hash collision
  // can only cost a scan, never change a result.
  struct ScanMemo {
    uint64_t hash = 0;
    uint32_t db = 0xFFFFFFFFu;  // database ordinal; none yet
    std::string text;
    std::vector<uint32_t> ids;  // distinct prefilter ids the scan reported, in report order
  };
  std::vector<ScanMemo> scan_memo_;
  std::vector<uint32_t> scan_seen_;  // prefilter id -> the last scan (scan_no_) that reported it
  uint32_t scan_no_ = 0;
  std::vector<uint32_t> scan_ids_;  // ids reported by the scan being recorded
  hs_scratch_t* scratch_ = nullptr;
  std::vector<uint8_t> scratch_fits_;  // database ordinal -> scratch_ was grown for it
  NameId channel_ = intern("Channel"), event_id_ = intern("EventID"), provider_ = intern("Provider_Name");
  std::string lower_;
};

}  // namespace vigil::sigma
