#include "detection/network/finding.hpp"

#include "event/value.hpp"

namespace vigil {

Figure figure(std::string name, std::string_view v) {
  std::string json;
  append_json_string(json, v);
  return Figure{std::move(name), std::move(json), std::string(v)};
}

}  // namespace vigil
