#include "detection/sigma/prefilter.hpp"

#include <fmt/format.h>

#include <map>

namespace vigil::sigma {
namespace {

struct Group {
  std::vector<std::string> expressions;  // literals
  std::vector<unsigned> flags, ids;
};

// Compiles a group; ids of expressions vectorscan refuses go to `dropped`.
hs_database_t* compile(const Group& g, std::vector<unsigned>& dropped) {
  if (g.expressions.empty()) return nullptr;
  std::vector<const char*> exprs;
  std::vector<size_t> lens;
  for (const auto& e : g.expressions) {
    exprs.push_back(e.data());
    lens.push_back(e.size());
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_lit_multi(exprs.data(), g.flags.data(), g.ids.data(), lens.data(),
                           static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db, &err) == HS_SUCCESS)
    return db;
  // One expression vectorscan refuses: leave it out and try again.
  const int bad = err ? err->expression : -1;
  hs_free_compile_error(err);
  if (bad < 0 || static_cast<size_t>(bad) >= g.expressions.size()) {
    dropped.insert(dropped.end(), g.ids.begin(), g.ids.end());
    return nullptr;
  }
  dropped.push_back(g.ids[static_cast<size_t>(bad)]);
  Group rest;
  for (size_t i = 0; i < g.expressions.size(); ++i)
    if (static_cast<int>(i) != bad) {
      rest.expressions.push_back(g.expressions[i]);
      rest.flags.push_back(g.flags[i]);
      rest.ids.push_back(g.ids[i]);
    }
  return compile(rest, dropped);
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

Prefilter::~Prefilter() {
  for (auto& [f, db] : by_field_) hs_free_database(db);
  if (keyword_) hs_free_database(keyword_);
}

void Prefilter::build(std::vector<Atom>& atoms) {
  for (auto& [f, db] : by_field_) hs_free_database(db);
  by_field_.clear();
  if (keyword_) hs_free_database(keyword_);
  keyword_ = nullptr;

  // Identical expressions (same field, text, case rule) share one id.
  std::map<NameId, Group> groups;
  std::map<std::tuple<NameId, std::string, bool>, uint32_t> ids;
  uint32_t next = 0;
  for (Atom& a : atoms) {
    for (Pattern& p : a.patterns) {
      p.prefilter = kNoPrefilter;
      const std::string e = prefilter_literal(p);
      if (e.empty()) continue;
      const auto key = std::make_tuple(a.field, e, p.cased);
      auto it = ids.find(key);
      if (it == ids.end()) {
        it = ids.emplace(key, next++).first;
        Group& g = groups[a.field];
        g.expressions.push_back(e);
        g.flags.push_back(HS_FLAG_SINGLEMATCH | (p.cased ? 0u : HS_FLAG_CASELESS));
        g.ids.push_back(it->second);
      }
      p.prefilter = it->second;
    }
  }
  id_count_ = next;
  std::vector<unsigned> dropped;
  for (auto& [field, g] : groups) {
    hs_database_t* db = compile(g, dropped);
    if (!db) continue;
    if (field == kNoName)
      keyword_ = db;
    else
      by_field_[field] = db;
  }
  if (!dropped.empty()) {
    // Patterns vectorscan would not take are matched without the prefilter.
    std::vector<bool> gone(next, false);
    for (unsigned id : dropped) gone[id] = true;
    for (Atom& a : atoms)
      for (Pattern& p : a.patterns)
        if (p.prefilter != kNoPrefilter && gone[p.prefilter]) p.prefilter = kNoPrefilter;
  }
}

hs_scratch_t* Prefilter::new_scratch() const {
  hs_scratch_t* s = nullptr;
  for (const auto& [f, db] : by_field_) hs_alloc_scratch(db, &s);
  if (keyword_) hs_alloc_scratch(keyword_, &s);
  return s;
}

}  // namespace vigil::sigma
