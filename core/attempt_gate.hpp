#pragma once
// What the stored failure counts cannot see: the password checks running right now.
//
// In flight: every check of an account registers while it runs. A burst of parallel guesses at
// one account would otherwise all read the same count before any of them is written, and all be
// checked for free; counted as the failures they may become, the burst meets the account's delay
// after its free failures.
//
// Exclusive passes: the throttling delay (core/throttle.hpp) slows one attempt; without a pass
// a guesser opening many connections would have them all wait out the same delay side by side
// and then cost a hash each. A pass is taken for the client address, and for the account
// together with that address: a second delayed attempt of the same address (or of the same
// account from the same address) is refused at once (429, no hash, nothing stored). The account
// is paired with the address so that a stranger hammering an ID holds only his own place in the
// queue: the owner, trying from elsewhere, waits the account's delay but is not refused.
//
// In memory, per process: it guards the hash pool of this process; the counters in LMDB remain
// the memory of the failures. Thread safe.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace nidan::login {

class attempt_gate {
public:
    // Holds its subjects until destroyed (moved-from: nothing).
    class hold {
    public:
        hold(hold&& other) noexcept : gate_(other.gate_), subjects_(std::move(other.subjects_)), exclusive_(other.exclusive_) {
            other.gate_ = nullptr;
        }
        hold& operator=(hold&& other) noexcept;
        hold(const hold&) = delete;
        hold& operator=(const hold&) = delete;
        ~hold();

    private:
        friend class attempt_gate;
        hold(attempt_gate& gate, std::vector<std::string> subjects, bool exclusive)
            : gate_(&gate), subjects_(std::move(subjects)), exclusive_(exclusive) {}
        attempt_gate* gate_;
        std::vector<std::string> subjects_;
        bool exclusive_;
    };

    // Registers a running check of `subject`; returns the checks of it that were already running.
    std::pair<hold, std::uint32_t> track(std::string subject);
    // An exclusive pass for all the subjects, or nullopt when any of them holds one already.
    std::optional<hold> enter(std::vector<std::string> subjects);
    // Subjects holding an exclusive pass now, and checks in flight (for /metrics and tests).
    std::size_t exclusive() const;
    std::size_t in_flight() const;

private:
    void release(const std::vector<std::string>& subjects, bool exclusive) noexcept;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::uint32_t> running_;  // subject -> checks in flight
    std::unordered_set<std::string> passes_;                  // subjects holding an exclusive pass
};

}  // namespace nidan::login
