#pragma once
// Reading the server's structured log in integration tests: the lines of one event and the
// fields of a line (one event per line, key=value separated by spaces).
#include <sstream>
#include <string>
#include <vector>

#include "portal_client.hpp"

namespace nidan_test {

// The lines of `event` that also contain every one of `with`, in log order.
inline std::vector<std::string> lines_of(const std::string& log, const std::string& event,
                                         const std::vector<std::string>& with = {}) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        if (!contains(line + " ", "event=" + event + " ")) continue;
        bool all = true;
        for (const auto& w : with) all = all && contains(line + " ", w);
        if (all) out.push_back(line);
    }
    return out;
}

// The value of `name=` in one log line; "" when absent.
inline std::string field(const std::string& line, const std::string& name) {
    const auto at = (" " + line).find(" " + name + "=");
    if (at == std::string::npos) return {};
    const auto begin = at + name.size() + 1;
    return line.substr(begin, line.find(' ', begin) - begin);
}

// A login line's throttle delay; -1 when it has none.
inline long long delay_of(const std::string& line) {
    const auto v = field(line, "delay_ms");
    return v.empty() ? -1 : std::stoll(v);
}

}  // namespace nidan_test
