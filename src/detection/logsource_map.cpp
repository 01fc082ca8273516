#include "detection/logsource_map.hpp"

#include <yaml-cpp/yaml.h>

#include "event/text.hpp"

#include <algorithm>

namespace vigil {

extern const char kBuiltinLogSources[];  // generated from data/logsources.yaml

std::shared_ptr<LogSourceMap> LogSourceMap::builtin() {
  auto m = std::make_shared<LogSourceMap>();
  m->source_text_ = kBuiltinLogSources;
  m->pending_ = true;
  return m;
}

void LogSourceMap::parse_pending() const {
  if (!pending_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(parse_mu_);
  if (!pending_.load(std::memory_order_relaxed)) return;
  std::string error;
  auto* self = const_cast<LogSourceMap*>(this);  // completing construction, under the lock
  if (!self->load_yaml(std::string(source_text_), &error))
    throw std::runtime_error("built-in logsource map is broken: " + error);
}

bool LogSourceMap::load_file(const std::string& path, std::string* error) {
  return load_text_file(path, error, [this](const std::string& text, std::string* e) { return load_yaml(text, e); });
}

bool LogSourceMap::load_yaml(const std::string& text, std::string* error) {
  std::vector<Entry> entries;
  std::vector<FieldProduct> field_products;
  try {
    const YAML::Node root = YAML::Load(text);
    for (const auto& fp : root["field_products"])
      field_products.push_back({ascii_lower(fp["product"].as<std::string>()), fp["field"].as<std::string>()});
    const YAML::Node list = root["logsources"];
    if (!list || !list.IsSequence()) {
      *error = "expected `logsources:` with a list of entries";
      return false;
    }
    for (const auto& e : list) {
      Entry entry;
      if (e["product"]) entry.product = ascii_lower(e["product"].as<std::string>());
      if (e["category"]) entry.category = ascii_lower(e["category"].as<std::string>());
      if (e["service"]) entry.service = ascii_lower(e["service"].as<std::string>());
      if (entry.category.empty() && entry.service.empty()) {
        *error = "an entry needs a category or a service";
        return false;
      }
      for (const auto& s : e["sources"]) {
        EventSource src;
        if (const YAML::Node c = s["channel"]) {
          if (c.IsSequence())
            for (const auto& x : c) src.channels.push_back(ascii_lower(x.as<std::string>()));
          else
            src.channels.push_back(ascii_lower(c.as<std::string>()));
        }
        if (const YAML::Node ids = s["event_id"]) {
          if (ids.IsSequence())
            for (const auto& x : ids) src.event_ids.push_back(x.as<uint32_t>());
          else
            src.event_ids.push_back(ids.as<uint32_t>());
        }
        if (s["provider"]) src.provider = ascii_lower(s["provider"].as<std::string>());
        if (const YAML::Node f = s["fields"])
          for (const auto& kv : f) src.fields[kv.first.as<std::string>()] = kv.second.as<std::string>();
        if (src.channels.empty() && src.provider.empty()) {
          *error = "entry " + entry.category + entry.service + ": a source needs a channel or a provider";
          return false;
        }
        entry.sources.push_back(std::move(src));
      }
      if (entry.sources.empty()) {
        *error = "entry " + entry.category + entry.service + " has no sources";
        return false;
      }
      entries.push_back(std::move(entry));
    }
  } catch (const YAML::Exception& ex) {
    *error = ex.what();
    return false;
  }
  entries_ = std::move(entries);
  field_products_ = std::move(field_products);
  source_text_ = text;
  pending_.store(false, std::memory_order_release);
  return true;
}

LogSourceMap::Scope LogSourceMap::lookup(const sigma::LogSource& ls, std::vector<const EventSource*>& out) const {
  parse_pending();
  out.clear();
  bool product_known = false;
  for (const Entry& e : entries_) {
    if (!e.product.empty() && e.product == ls.product) product_known = true;
    if (!e.product.empty() && !ls.product.empty() && e.product != ls.product) continue;
    if (e.product.empty() && !ls.product.empty()) continue;
    if (e.category != ls.category || e.service != ls.service) continue;
    for (const auto& s : e.sources) out.push_back(&s);
  }
  if (!out.empty()) return Scope::Mapped;
  // A product the map knows (windows) with a logsource it does not list:
  // the rule is applied to every event of that product.
  if (product_known) return Scope::AnyWindowsEvent;
  return Scope::Unmapped;
}

}  // namespace vigil
