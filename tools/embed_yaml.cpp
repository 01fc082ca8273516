// Build step: parses a YAML data file and writes a C++ source defining its
// tree (see src/event/yaml_tree.hpp) as `std::string_view <symbol>`.
//   embed_yaml INPUT.yaml SYMBOL OUTPUT.cpp
#include <cstdio>
#include <fstream>
#include <string>

#include "event/yaml_tree.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: embed_yaml INPUT.yaml SYMBOL OUTPUT.cpp\n");
    return 2;
  }
  std::string tree;
  try {
    tree = vigil::encode_yaml_tree(YAML::LoadFile(argv[1]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed_yaml: %s: %s\n", argv[1], e.what());
    return 1;
  }
  // A string literal of escapes: constant-initialised, so usable from any
  // static initialiser, and every byte escaped (no hex digit can run on).
  std::string out = "// Generated from ";
  out += argv[1];
  out += " by tools/embed_yaml.cpp: do not edit.\n#include <string_view>\n\nnamespace vigil {\nextern const std::string_view ";
  out += argv[2];
  out += ";\nconst std::string_view ";
  out += argv[2];
  out += "(\"";
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < tree.size(); ++i) {
    if (i > 0 && i % 32 == 0) out += "\"\n    \"";
    const auto b = static_cast<unsigned char>(tree[i]);
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  out += "\", " + std::to_string(tree.size()) + ");\n}  // namespace vigil\n";
  std::ofstream f(argv[3], std::ios::binary | std::ios::trunc);
  f << out;
  if (!f) {
    std::fprintf(stderr, "embed_yaml: cannot write %s\n", argv[3]);
    return 1;
  }
  return 0;
}
