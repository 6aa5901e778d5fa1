#pragma once
// The wall clock in Unix seconds, the unit of every expiry we store. The login steps take it as
// an argument (tests choose the time); their callers and the operator commands read it here.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace nidan {

inline std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }
// In milliseconds: mails' due times and leases, the shared attempt gate's entries.
inline std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "2026年12月07日 14時26分": a time as customers read it, in Japan time (UTC+9, no DST), for pages
// and mails.
inline std::string japan_time(std::int64_t unix_seconds) {
    char when[64];
    const auto t = static_cast<std::time_t>(unix_seconds + 9 * 3600);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(when, sizeof when, "%Y年%m月%d日 %H時%M分", &tm);
    return when;
}

}  // namespace nidan
