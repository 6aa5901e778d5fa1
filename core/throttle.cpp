#include "core/throttle.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <algorithm>
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
