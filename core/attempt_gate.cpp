#include "core/attempt_gate.hpp"

#include <algorithm>

namespace nidan::login {

attempt_gate::hold& attempt_gate::hold::operator=(hold&& other) noexcept {
    if (this != &other) {
        if (gate_) gate_->release(subjects_, exclusive_);
        gate_ = other.gate_;
        subjects_ = std::move(other.subjects_);
        exclusive_ = other.exclusive_;
        other.gate_ = nullptr;
    }
    return *this;
}

attempt_gate::hold::~hold() {
    if (gate_) gate_->release(subjects_, exclusive_);
}

std::pair<attempt_gate::hold, std::uint32_t> attempt_gate::track(std::string subject) {
    std::lock_guard lock(mutex_);
    const auto before = running_[subject]++;
    return {hold(*this, {std::move(subject)}, false), before};
}

std::optional<attempt_gate::hold> attempt_gate::enter(std::vector<std::string> subjects) {
    std::sort(subjects.begin(), subjects.end());
    subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
    std::lock_guard lock(mutex_);
    for (const auto& s : subjects)
        if (passes_.contains(s)) return std::nullopt;
    for (const auto& s : subjects) passes_.insert(s);
    return hold(*this, std::move(subjects), true);
}

std::size_t attempt_gate::exclusive() const {
    std::lock_guard lock(mutex_);
    return passes_.size();
}

std::size_t attempt_gate::in_flight() const {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [subject, count] : running_) total += count;
    return total;
}

void attempt_gate::release(const std::vector<std::string>& subjects, bool exclusive) noexcept {
    std::lock_guard lock(mutex_);
    for (const auto& s : subjects) {
        if (exclusive) {
            passes_.erase(s);
        } else if (const auto it = running_.find(s); it != running_.end() && --it->second == 0) {
            running_.erase(it);
        }
    }
}

}  // namespace nidan::login
