#include "core/account/account_rules.hpp"

#include "core/base/text.hpp"

#include <algorithm>

namespace nidan {
namespace {

// Separators people put in phone numbers, in ASCII and as typed by Japanese input methods.
bool is_phone_separator(char32_t c) {
    switch (c) {
    case U' ':
    case U'-':
    case U'\u3000':  // ideographic (full-width) space
    case U'\uFF0D':  // full-width hyphen-minus
    case U'\u30FC':  // katakana long vowel mark, often typed for a dash
    case U'\u2212':  // minus sign
    case U'\u2010':  // hyphen
    case U'\u2015':  // horizontal bar
        return true;
    default:
        return false;
    }
}

}  // namespace

problem portal_problem(std::string_view portal,
                           std::span<const std::string_view> known_portals) {
    if (std::find(known_portals.begin(), known_portals.end(), portal) != known_portals.end())
        return {};
    std::string reason = "portal: unknown portal (known:";
    for (std::size_t i = 0; i < known_portals.size(); ++i) {
        reason += i == 0 ? " " : ", ";
        reason += known_portals[i];
    }
    reason += ')';
    return reason;
}

problem selfcare_id_problem(std::string_view id) {
    if (id.empty()) return "id: must not be empty";
    if (id.size() > 64) return "id: longer than 64 characters";
    const bool allowed = std::all_of(id.begin(), id.end(), [](char c) {
        return is_ascii_letter(c) || is_ascii_digit(c) || c == '.' || c == '_' || c == '-' ||
               c == '@';
    });
    if (!allowed) return "id: only ASCII letters, digits and . _ - @ are allowed";
    return {};
}

std::optional<std::string> normalise_phone(std::string_view raw) {
    std::string digits;
    for (std::size_t pos = 0; pos < raw.size();) {
        const auto c = next_code_point(raw, pos);
        if (!c) return std::nullopt;
        if (*c >= U'0' && *c <= U'9') {
            digits += static_cast<char>(*c);
        } else if (*c >= U'\uFF10' && *c <= U'\uFF19') {
            digits += static_cast<char>('0' + (*c - U'\uFF10'));
        } else if (!is_phone_separator(*c)) {
            return std::nullopt;
        }
        // Early exit keeps a hostile multi-megabyte "phone" from being copied whole.
        if (digits.size() > 11) return std::nullopt;
    }
    if (digits.size() < 10) return std::nullopt;
    return digits;
}

problem phone_problem(std::string_view raw) {
    if (normalise_phone(raw)) return {};
    return "phone: not a valid phone number (10 or 11 digits)";
}

problem password_problem(std::string_view password, std::size_t min_chars,
                             std::size_t max_bytes) {
    // The byte cap comes first so an oversized input is refused before any per-character work.
    if (password.size() > max_bytes)
        return "password: longer than " + std::to_string(max_bytes) + " bytes";
    const auto chars = count_code_points(password);
    if (!chars) return "password: not valid UTF-8";
    if (*chars < min_chars)
        return "password: shorter than " + std::to_string(min_chars) + " characters";
    return {};
}

}  // namespace nidan
