#include "core/account_rules.hpp"

#include <algorithm>

namespace nidan {
namespace {

// Reads one code point of well-formed UTF-8 at text[pos] and moves pos past it; nullopt for any
// ill-formed sequence. Checking the decoded value against the smallest value of its length is
// what rejects overlong forms (e.g. C0 AF for '/', which naive decoders let through).
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

// Code points in text, or nullopt when it is not valid UTF-8.
std::optional<std::size_t> count_code_points(std::string_view text) noexcept {
    std::size_t count = 0;
    for (std::size_t pos = 0; pos < text.size(); ++count) {
        if (!next_code_point(text, pos)) return std::nullopt;
    }
    return count;
}

bool is_ascii_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5322 atext: the characters a dot-atom may hold besides the dots.
bool is_atext(char c) {
    return is_ascii_letter(c) || is_ascii_digit(c) ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view text) {
    if (text.empty() || text.front() == '.' || text.back() == '.') return false;
    if (text.find("..") != std::string_view::npos) return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || is_atext(c); });
}

bool is_domain_label(std::string_view label) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    return std::all_of(label.begin(), label.end(),
                       [](char c) { return is_ascii_letter(c) || is_ascii_digit(c) || c == '-'; });
}

bool is_domain(std::string_view domain) {
    if (domain.find('.') == std::string_view::npos) return false;
    while (true) {
        const auto dot = domain.find('.');
        if (!is_domain_label(domain.substr(0, dot))) return false;
        if (dot == std::string_view::npos) return true;
        domain.remove_prefix(dot + 1);
    }
}

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

bool is_valid_utf8(std::string_view text) noexcept { return count_code_points(text).has_value(); }

std::string portal_problem(std::string_view portal,
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

std::string selfcare_id_problem(std::string_view id) {
    if (id.empty()) return "id: must not be empty";
    if (id.size() > 64) return "id: longer than 64 characters";
    const bool allowed = std::all_of(id.begin(), id.end(), [](char c) {
        return is_ascii_letter(c) || is_ascii_digit(c) || c == '.' || c == '_' || c == '-' ||
               c == '@';
    });
    if (!allowed) return "id: only ASCII letters, digits and . _ - @ are allowed";
    return {};
}

std::string email_problem(std::string_view email) {
    if (email.empty()) return {};
    if (email.size() > 254) return "email: longer than 254 characters";
    const auto at = email.find('@');
    if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos)
        return "email: not a valid address (needs exactly one @)";
    const auto local = email.substr(0, at);
    if (local.empty() || local.size() > 64 || !is_dot_atom(local))
        return "email: not a valid address (the part before @)";
    if (!is_domain(email.substr(at + 1))) return "email: not a valid address (the domain)";
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

std::string phone_problem(std::string_view raw) {
    if (normalise_phone(raw)) return {};
    return "phone: not a valid phone number (10 or 11 digits)";
}

std::string password_problem(std::string_view password, std::size_t min_chars,
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
