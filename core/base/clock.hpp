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

// A time as customers read it: `format` (strftime, from the language's catalog: format.datetime)
// in the process's local time zone, which set_local_time_zone() chose at startup.
std::string local_time_text(std::int64_t unix_seconds, const std::string& format);

// operator.timezone ("Asia/Tokyo", "UTC"): the zone local_time_text() uses. Call at startup
// before other threads start, as it sets TZ; logs stay in UTC whatever it is.
void set_local_time_zone(const std::string& name);

}  // namespace nidan
