// A temporary file the fuzzers rewrite with each input, so the readers run on a
// real file as in use. Removed at exit.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

struct TempFile {
  std::string path;
  int fd = -1;
  // `suffix` keeps the name the readers look at (".evtx", ".jsonl").
  explicit TempFile(const std::string& suffix) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/vigil-fuzz-XXXXXX" + suffix;
    fd = mkstemps(tmpl.data(), static_cast<int>(suffix.size()));
    if (fd < 0) std::abort();
    path = tmpl;
  }
  ~TempFile() {
    close(fd);
    unlink(path.c_str());
  }
  void write_all(const uint8_t* data, size_t size) {
    if (ftruncate(fd, 0) != 0) std::abort();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
};
