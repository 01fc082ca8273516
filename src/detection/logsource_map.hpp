// Sigma logsource -> the events it covers, as data (data/logsources.yaml,
// compiled in; users may load their own with --mapping).
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "detection/sigma/rule.hpp"

namespace vigil {

struct EventSource {
  std::vector<std::string> channels;  // lower-case; empty = any channel
  std::vector<uint32_t> event_ids;    // empty = any event id
  std::string provider;               // lower-case Provider_Name; empty = any
  std::map<std::string, std::string> fields;  // Sigma field -> the event's field
};

class LogSourceMap {
 public:
  // The compiled-in map. Its YAML is parsed at the first lookup(): a start
  // that takes the compiled rules from the cache needs only its text (for
  // the cache key), and parsing it costs more than loading those rules.
  static std::shared_ptr<LogSourceMap> builtin();
  // Replaces the map with a YAML document in the format of data/logsources.yaml.
  bool load_yaml(const std::string& text, std::string* error);
  bool load_file(const std::string& path, std::string* error);

  // The YAML the map was loaded from (part of the compiled-rule cache key).
  const std::string& source_text() const { return source_text_; }

  // Products whose events are known by a field (Zeek: `_path`), see
  // data/logsources.yaml `field_products`.
  struct FieldProduct {
    std::string product;  // lower-case
    std::string field;
  };
  const std::vector<FieldProduct>& field_products() const {
    parse_pending();
    return field_products_;
  }

  enum class Scope { Mapped, AnyWindowsEvent, Unmapped };
  // The event sources of a rule's logsource. Unmapped: a product the map does
  // not describe (Linux, cloud, Zeek...), whose rules see events without a Channel.
  Scope lookup(const sigma::LogSource& ls, std::vector<const EventSource*>& out) const;

 private:
  struct Entry {
    std::string product, category, service;
    std::vector<EventSource> sources;
  };
  void parse_pending() const;
  std::vector<Entry> entries_;
  std::vector<FieldProduct> field_products_;
  std::string source_text_;
  // builtin(): source_text_ not parsed into entries_ yet.
  mutable std::atomic<bool> pending_{false};
  mutable std::mutex parse_mu_;
};

}  // namespace vigil
