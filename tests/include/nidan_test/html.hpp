#pragma once
// HTML escaping as the tests expect it: the five characters that mustache's {{x}} and the
// template store's {{t:key}} escape, written out here rather than taken from the code under test.
#include <string>

namespace nidan_test {

inline std::string html_escaped(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c;
        }
    }
    return out;
}

}  // namespace nidan_test
