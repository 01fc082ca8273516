#include "detection/network/finding.hpp"

namespace vigil {

Figure figure(std::string name, std::string_view v) {
  std::string json = "\"";
  for (unsigned char c : v) {
    switch (c) {
      case '"': json += "\\\""; break;
      case '\\': json += "\\\\"; break;
      case '\n': json += "\\n"; break;
      case '\r': json += "\\r"; break;
      case '\t': json += "\\t"; break;
      default:
        if (c < 0x20) json += fmt::format("\\u{:04x}", c);
        else json += static_cast<char>(c);
    }
  }
  json += '"';
  return Figure{std::move(name), std::move(json), std::string(v)};
}

}  // namespace vigil
