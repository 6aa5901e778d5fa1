#pragma once
// How the login steps ended, counted per outcome for GET /metrics, and why the throttle refused
// checks unchecked: what an operator watches to see an attack (invalid_credentials and busy climbing) or a relay problem (codes sent, none
// verified). Shared by every io thread: relaxed atomic counters.
#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "core/login/address_change.hpp"
#include "core/login/address_step.hpp"
#include "core/login/code_step.hpp"
#include "core/login/password_step.hpp"

namespace nidan::login {

// The results are labelled by their rows in server/steps/step_outcomes.hpp.
inline constexpr std::array all_password_results{
    password_result::code_sent,      password_result::address_required, password_result::invalid_credentials,
    password_result::locked,         password_result::too_many_codes,   password_result::busy,
    password_result::unavailable};
inline constexpr std::array all_code_results{code_result::accepted,   code_result::wrong,      code_result::dead,
                                             code_result::expired,    code_result::bad_format, code_result::unavailable};
inline constexpr std::array all_throttle_refusals{
    throttle_refusal::busy_same_account, throttle_refusal::busy_queue_full, throttle_refusal::account_concurrency,
    throttle_refusal::account_budget};
static_assert(all_throttle_refusals.size() == throttle_refusal_count);
inline constexpr std::array all_address_results{
    address_result::code_sent,  address_result::wrong_phone, address_result::locked,    address_result::rate_limited,
    address_result::no_account, address_result::bad_email,   address_result::bad_phone, address_result::unavailable,
    address_result::not_offered};

inline constexpr std::array all_address_cancel_results{
    address_cancel_result::cancelled, address_cancel_result::invalid_link, address_cancel_result::unavailable,
    address_cancel_result::already_done};

class login_metrics {
public:
    void count(password_result r) noexcept { bump(password_, static_cast<std::size_t>(r)); }
    void count(code_result r) noexcept { bump(code_, static_cast<std::size_t>(r)); }
    void count(address_result r) noexcept { bump(address_, static_cast<std::size_t>(r)); }
    void count(address_cancel_result r) noexcept { bump(cancel_, static_cast<std::size_t>(r)); }
    // A password check refused unchecked by the throttle (also counted as its step's busy).
    void count(throttle_refusal r) noexcept { bump(refusals_, static_cast<std::size_t>(r)); }

    std::uint64_t of(password_result r) const noexcept { return read(password_, static_cast<std::size_t>(r)); }
    std::uint64_t of(code_result r) const noexcept { return read(code_, static_cast<std::size_t>(r)); }
    std::uint64_t of(address_result r) const noexcept { return read(address_, static_cast<std::size_t>(r)); }
    std::uint64_t of(address_cancel_result r) const noexcept { return read(cancel_, static_cast<std::size_t>(r)); }
    std::uint64_t of(throttle_refusal r) const noexcept { return read(refusals_, static_cast<std::size_t>(r)); }

private:
    template <std::size_t N>
    static void bump(std::array<std::atomic<std::uint64_t>, N>& counters, std::size_t i) noexcept {
        if (i < N) counters[i].fetch_add(1, std::memory_order_relaxed);
    }
    template <std::size_t N>
    static std::uint64_t read(const std::array<std::atomic<std::uint64_t>, N>& counters, std::size_t i) noexcept {
        return i < N ? counters[i].load(std::memory_order_relaxed) : 0;
    }

    std::array<std::atomic<std::uint64_t>, all_password_results.size()> password_{};
    std::array<std::atomic<std::uint64_t>, all_code_results.size()> code_{};
    std::array<std::atomic<std::uint64_t>, all_address_results.size()> address_{};
    std::array<std::atomic<std::uint64_t>, all_address_cancel_results.size()> cancel_{};
    std::array<std::atomic<std::uint64_t>, all_throttle_refusals.size()> refusals_{};
};

}  // namespace nidan::login
