#include "sources/pipeline.hpp"

namespace vigil {

bool InputQueue::next(UnitRef& out) {
  if (!put_back_.empty()) {
    out = put_back_.front();
    put_back_.pop_front();
    return true;
  }
  for (;;) {
    if (!open_.empty()) {
      Open& last = open_.back();
      if (last.handed < last.input->unit_count()) {
        out = UnitRef{last.input.get(), last.handed++};
        return true;
      }
    }
    if (next_file_ >= files_.size()) return false;
    const uint32_t index = static_cast<uint32_t>(next_file_);
    Problems ps;
    auto in = open_input(files_[next_file_++], index, ps);
    if (!ps.empty()) {
      std::lock_guard lock(problems_mu_);
      problems_.insert(problems_.end(), ps.begin(), ps.end());
    }
    if (!in) {
      ++failed_;
      continue;
    }
    ++opened_;
    if (in->unit_count() == 0) continue;  // nothing to read (e.g. only a header): closed at once
    open_.push_back(Open{std::move(in), 0, 0});
  }
}

void InputQueue::consumed(const UnitRef& u) {
  // Units are consumed in order, so the finished file is always the front one.
  if (!u.input || open_.empty() || open_.front().input.get() != u.input) return;
  Open& front = open_.front();
  if (++front.consumed == front.input->unit_count()) open_.pop_front();
}

Problems InputQueue::take_problems() {
  std::lock_guard lock(problems_mu_);
  Problems out;
  out.swap(problems_);
  return out;
}

}  // namespace vigil
