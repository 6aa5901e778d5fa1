#pragma once
// One delayed password check at a time per client address and per account. The throttling
// delay (core/throttle.hpp) slows one attempt; without this gate a guesser opening many
// connections from one address would have them all read the same failure count, wait out the
// same delay side by side, and then cost a hash each - the delay would cap nothing. With it, a
// second attempt that would have to wait while another of the same subject waits is refused at
// once (429, no hash, nothing stored), so each subject gets one guess per delay.
//
// In memory, per process: it guards the hash pool of this process; the counters in LMDB remain
// the memory of the failures. Thread safe.
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace nidan::login {

class attempt_gate {
public:
    // Holds its subjects until destroyed.
    class pass {
    public:
        pass(pass&& other) noexcept : gate_(other.gate_), subjects_(std::move(other.subjects_)) { other.gate_ = nullptr; }
        pass& operator=(pass&& other) noexcept {
            if (this != &other) {
                if (gate_) gate_->leave(subjects_);
                gate_ = other.gate_;
                subjects_ = std::move(other.subjects_);
                other.gate_ = nullptr;
            }
            return *this;
        }
        pass(const pass&) = delete;
        pass& operator=(const pass&) = delete;
        ~pass();

    private:
        friend class attempt_gate;
        pass(attempt_gate& gate, std::vector<std::string> subjects) : gate_(&gate), subjects_(std::move(subjects)) {}
        attempt_gate* gate_;
        std::vector<std::string> subjects_;
    };

    // A pass for all the subjects, or nullopt when any of them already holds one.
    std::optional<pass> enter(std::vector<std::string> subjects);
    // Subjects holding a pass now (for /metrics and tests).
    std::size_t waiting() const;

private:
    void leave(const std::vector<std::string>& subjects) noexcept;

    mutable std::mutex mutex_;
    std::unordered_set<std::string> waiting_;
};

}  // namespace nidan::login
