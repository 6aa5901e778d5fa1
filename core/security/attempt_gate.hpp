#pragma once
// What the stored failure counts cannot see: the password checks running right now, and the
// order in which delayed ones may go (README.md's security section states the model).
//
// In flight: every check registers under its subjects (the client address, the account or the
// account's device holders) while it runs. A burst of parallel guesses would otherwise all read
// the same count before any of them is written, and all be checked for free; counted as the
// failures they may become, the burst meets the delay after the free failures.
//
// Passes: a delay slows one attempt; without passes a guesser opening many connections would
// have them all wait out the same delay side by side and then cost a hash each. A delayed
// attempt is admitted with a pass (admit()) that takes, all or none:
//  - the pair (account, address), exclusively: a second delayed attempt of the same address for
//    the same account is refused at once;
//  - a slot of the account, at most `account_limit` at a time across all addresses (one for the
//    device holders' subject): beyond, refused at once;
//  - a place in the address's line: one attempt of an address is served (waits out its delay and
//    is checked) at a time, the others wait their turn in arrival order, at most `line_max` of
//    them; beyond, refused at once. So a stranger's delayed guess from a shared address (a
//    carrier NAT, an office) makes another customer there wait, not fail.
// A refused attempt is answered 429, no hash, nothing stored.
//
// In memory, per process: it guards the hash pool of this process; the counters in LMDB remain
// the memory of the failures. Thread safe. The caller polls pass::served() (core/ has no event
// loop); a pass left early (client gone, server stopping) leaves its line.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/security/throttle.hpp"

namespace nidan::login {

// What a delayed attempt must hold (core/login/password_failures.hpp fills it); "" leaves a part out.
struct gate_plan {
    std::string pair;                 // exclusive
    std::string account;              // at most account_limit passes at a time
    std::uint32_t account_limit = 1;
    std::string line;                 // served one at a time, in arrival order
    std::size_t line_max = 0;         // attempts that may wait behind the one served
    bool empty() const { return pair.empty() && account.empty() && line.empty(); }
};

class attempt_gate {
public:
    // A check registered in flight until destroyed (moved-from: nothing).
    class hold {
    public:
        hold(hold&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)), subject_(std::move(other.subject_)) {}
        hold& operator=(hold&& other) noexcept;
        hold(const hold&) = delete;
        hold& operator=(const hold&) = delete;
        ~hold();

    private:
        friend class attempt_gate;
        hold(attempt_gate& gate, std::string subject) : gate_(&gate), subject_(std::move(subject)) {}
        attempt_gate* gate_;
        std::string subject_;
    };

    // An admitted delayed attempt: its pair, account slot and place in line until destroyed.
    class pass {
    public:
        pass(pass&& other) noexcept
            : gate_(std::exchange(other.gate_, nullptr)), plan_(std::move(other.plan_)), ticket_(other.ticket_) {}
        pass& operator=(pass&& other) noexcept;
        pass(const pass&) = delete;
        pass& operator=(const pass&) = delete;
        ~pass();
        // First in its line (or in none): the attempt may wait out its delay and be checked.
        bool served() const;

    private:
        friend class attempt_gate;
        pass(attempt_gate& gate, gate_plan plan, std::uint64_t ticket)
            : gate_(&gate), plan_(std::move(plan)), ticket_(ticket) {}
        attempt_gate* gate_;
        gate_plan plan_;
        std::uint64_t ticket_;
    };

    struct admission {
        std::optional<pass> admitted;
        throttle_refusal refused = throttle_refusal::busy_same_account;  // when not admitted
    };

    // Registers a running check of `subject`; returns the checks of it that were already running.
    // An empty subject registers nothing (and returns 0).
    std::pair<hold, std::uint32_t> track(std::string subject);
    // A pass for the plan, or the first reason it cannot have one now: the pair taken
    // (busy_same_account), the account's slots taken (account_concurrency), the line full
    // (busy_queue_full).
    admission admit(gate_plan plan);

    // Checks registered by track(); with a kind, only subjects "kind\0..." (one per check when
    // every check registers one subject of that kind, as the client address).
    std::size_t in_flight(std::string_view kind = {}) const;
    std::size_t served() const;     // passes being served: waiting out their delay or checked
    std::size_t queued() const;     // passes waiting their turn in a line

private:
    void untrack(const std::string& subject) noexcept;
    void release(const gate_plan& plan, std::uint64_t ticket) noexcept;
    bool first_in_line(const std::string& line, std::uint64_t ticket) const;
    std::size_t waiting() const;  // mutex_ held

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::uint32_t> running_;              // subject -> checks in flight
    std::unordered_set<std::string> pairs_;                               // pairs holding a pass
    std::unordered_map<std::string, std::uint32_t> slots_;                // account -> passes
    std::unordered_map<std::string, std::deque<std::uint64_t>> lines_;    // address -> tickets, served first
    std::uint64_t next_ticket_ = 1;
    std::size_t passes_ = 0;
};

}  // namespace nidan::login
