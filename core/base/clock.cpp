#include "core/base/clock.hpp"

#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace nidan {

std::string local_time_text(std::int64_t unix_seconds, const std::string& format) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (localtime_r(&t, &tm) == nullptr) return {};
    char text[128];
    const auto length = std::strftime(text, sizeof text, format.c_str(), &tm);
    return std::string(text, length);
}

void set_local_time_zone(const std::string& name) {
    // The leading colon asks glibc for a file of the time zone database, never a POSIX rule.
    const std::string tz = ":" + name;
    if (::setenv("TZ", tz.c_str(), 1) != 0) throw std::runtime_error("cannot set TZ to " + name);
    ::tzset();
}

}  // namespace nidan
