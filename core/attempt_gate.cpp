#include "core/attempt_gate.hpp"

#include <algorithm>

namespace nidan::login {

attempt_gate::pass::~pass() {
    if (gate_) gate_->leave(subjects_);
}

std::optional<attempt_gate::pass> attempt_gate::enter(std::vector<std::string> subjects) {
    std::sort(subjects.begin(), subjects.end());
    subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
    std::lock_guard lock(mutex_);
    for (const auto& s : subjects)
        if (waiting_.contains(s)) return std::nullopt;
    for (const auto& s : subjects) waiting_.insert(s);
    return pass(*this, std::move(subjects));
}

std::size_t attempt_gate::waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
}

void attempt_gate::leave(const std::vector<std::string>& subjects) noexcept {
    std::lock_guard lock(mutex_);
    for (const auto& s : subjects) waiting_.erase(s);
}

}  // namespace nidan::login
