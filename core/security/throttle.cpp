#include "core/security/throttle.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nidan {

std::chrono::milliseconds delay_for(const throttle_policy& policy,
                                    unsigned failures_in_window) noexcept {
    using std::chrono::milliseconds;
    if (failures_in_window <= policy.free_failures) return milliseconds{0};
    if (policy.base_delay <= milliseconds{0} || policy.max_delay <= milliseconds{0})
        return milliseconds{0};
    const auto max = policy.max_delay.count();
    auto delay = std::min(policy.base_delay.count(), max);
    // Doubling until the cap ends after at most 63 rounds, whatever the count; comparing against
    // max / 2 first means delay * 2 is only computed when it cannot overflow.
    for (auto doublings = failures_in_window - policy.free_failures - 1;
         doublings > 0 && delay < max; --doublings)
        delay = delay > max / 2 ? max : delay * 2;
    return milliseconds{delay};
}

std::int64_t window_start(const throttle_policy& policy, std::int64_t now) noexcept {
    const std::int64_t window = policy.window.count();
    if (window <= 0) return now;
    std::int64_t offset = now % window;  // negative for negative now: C++ truncates toward zero
    if (offset < 0) offset += window;
    // Within one window of the lowest int64 the true start is not representable; the lowest
    // representable multiple of the window is the closest answer.
    if (now < std::numeric_limits<std::int64_t>::min() + offset)
        return std::numeric_limits<std::int64_t>::min() / window * window;
    return now - offset;
}

std::uint32_t sliding_count(const throttle_policy& policy, std::int64_t now, std::uint32_t current,
                            std::uint32_t previous) noexcept {
    const std::int64_t window = policy.window.count();
    if (window <= 0 || previous == 0) return current;
    const std::int64_t remaining = window - (now - window_start(policy, now));  // 1 .. window
    // previous < 2^32 and remaining <= window: the product fits once the window is below 2^31 s;
    // longer ones (68 years) are weighed in floating point.
    std::uint64_t weighted = 0;
    if (window < (std::int64_t{1} << 31))
        weighted = (static_cast<std::uint64_t>(previous) * static_cast<std::uint64_t>(remaining) +
                    static_cast<std::uint64_t>(window) - 1) /
                   static_cast<std::uint64_t>(window);
    else
        weighted = static_cast<std::uint64_t>(std::ceil(static_cast<double>(previous) * (static_cast<double>(remaining) /
                                                                                      static_cast<double>(window))));
    const std::uint64_t total = static_cast<std::uint64_t>(current) + weighted;
    return total > std::numeric_limits<std::uint32_t>::max() ? std::numeric_limits<std::uint32_t>::max()
                                                             : static_cast<std::uint32_t>(total);
}

std::int64_t seconds_until_below(const throttle_policy& policy, std::int64_t now, std::uint32_t limit,
                                 std::uint32_t current, std::uint32_t previous) noexcept {
    if (limit == 0 || sliding_count(policy, now, current, previous) < limit) return 0;
    const std::int64_t window = policy.window.count();
    if (window <= 0) return 1;  // every second is its own window: the next one starts empty
    const std::int64_t elapsed = now - window_start(policy, now);
    // The smallest elapsed time e of a bucket at which ceil(older * (window - e) / window) <= room.
    const auto first_second_with_room = [window](std::uint64_t older, std::uint64_t room) -> std::int64_t {
        if (older == 0) return 0;
        const auto covered = room * static_cast<std::uint64_t>(window) / older;  // window - e may be this large
        return covered >= static_cast<std::uint64_t>(window) ? 0 : window - static_cast<std::int64_t>(covered);
    };
    if (current < limit) {
        // Still within this bucket, once the previous one's weight has shrunk enough.
        const auto at = first_second_with_room(previous, limit - 1 - current);
        if (at < window) return std::max<std::int64_t>(at - elapsed, 1);
    }
    // In the next bucket the current one becomes the previous one.
    return window - elapsed + first_second_with_room(current, limit - 1);
}

std::string_view name_of(throttle_refusal r) noexcept {
    switch (r) {
    case throttle_refusal::busy_same_account: return "busy_same_account";
    case throttle_refusal::busy_queue_full: return "busy_queue_full";
    case throttle_refusal::account_concurrency: return "account_concurrency";
    case throttle_refusal::account_budget: return "account_budget";
    }
    return "unknown";
}

std::string address_subject(std::string_view client) {
    const std::string text(client);
    std::array<unsigned char, 16> v6{};
    if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return text;
    constexpr std::array<unsigned char, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::array<char, INET6_ADDRSTRLEN> out{};
    if (std::memcmp(v6.data(), mapped_prefix.data(), mapped_prefix.size()) == 0) {
        inet_ntop(AF_INET, v6.data() + 12, out.data(), out.size());
        return out.data();
    }
    std::fill(v6.begin() + 8, v6.end(), 0);
    inet_ntop(AF_INET6, v6.data(), out.data(), out.size());
    return std::string(out.data()) + "/64";
}

}  // namespace nidan
