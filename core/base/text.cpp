#include "core/base/text.hpp"

#include <algorithm>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nidan {

// Checking the decoded value against the smallest value of its length is what rejects overlong
// forms (e.g. C0 AF for '/', which naive decoders let through).
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& pos) noexcept {
    const auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t length = 0;
    char32_t value = 0;
    char32_t smallest = 0;
    if (lead < 0x80) {
        ++pos;
        return lead;
    } else if ((lead & 0xE0U) == 0xC0U) {
        length = 2;
        value = lead & 0x1FU;
        smallest = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
        length = 3;
        value = lead & 0x0FU;
        smallest = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
        length = 4;
        value = lead & 0x07U;
        smallest = 0x10000;
    } else {
        return std::nullopt;  // a stray continuation byte, or F8..FF which UTF-8 never uses
    }
    if (text.size() - pos < length) return std::nullopt;
    for (std::size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[pos + i]);
        if ((next & 0xC0U) != 0x80U) return std::nullopt;
        value = (value << 6) | (next & 0x3FU);
    }
    if (value < smallest || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return std::nullopt;
    pos += length;
    return value;
}

std::optional<std::size_t> count_code_points(std::string_view text) noexcept {
    std::size_t count = 0;
    for (std::size_t pos = 0; pos < text.size(); ++count) {
        if (!next_code_point(text, pos)) return std::nullopt;
    }
    return count;
}

bool is_valid_utf8(std::string_view text) noexcept { return count_code_points(text).has_value(); }

namespace {
bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
}  // namespace

bool is_language_tag(std::string_view text) noexcept {
    if (text.empty() || text.size() > max_language_tag_length) return false;
    const auto all = [](std::string_view s, auto allowed) { return std::ranges::all_of(s, allowed); };
    bool primary = true;
    for (std::size_t start = 0;;) {
        const auto end = std::min(text.find('-', start), text.size());
        const auto subtag = text.substr(start, end - start);
        const bool ok = primary ? subtag.size() >= 2 && subtag.size() <= 3 && all(subtag, is_lower)
                                : subtag.size() >= 2 && subtag.size() <= 8 &&
                                      all(subtag, [](char c) { return is_lower(c) || is_ascii_digit(c); });
        if (!ok) return false;
        if (end == text.size()) return true;
        start = end + 1;
        primary = false;
    }
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string read_whole_file(const std::filesystem::path& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + std::string(what) + " " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string hex_prefix(std::string_view bytes, std::size_t count) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char ch : bytes.substr(0, count)) {
        const auto byte = static_cast<unsigned char>(ch);
        out += digits[byte >> 4];
        out += digits[byte & 0x0f];
    }
    return out;
}

}  // namespace nidan
