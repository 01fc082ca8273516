// Work spread over threads, for items of uneven cost: each thread takes the
// next `batch` indexes as it finishes. Results belong in slots of their own
// index, so that they never depend on the thread count.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace vigil {

// Calls work(i) for every i in [0, n), on up to `threads` threads: the
// calling thread is one of them, so 0 or 1 runs everything here, in order.
template <class Work>
void parallel_for(size_t n, unsigned threads, Work&& work, size_t batch = 1) {
  const size_t batches = (n + batch - 1) / batch;
  const unsigned count = static_cast<unsigned>(std::min<size_t>(std::max(1u, threads), batches));
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t b; (b = next.fetch_add(batch)) < n;)
      for (size_t i = b; i < std::min(b + batch, n); ++i) work(i);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < count; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
}

}  // namespace vigil
