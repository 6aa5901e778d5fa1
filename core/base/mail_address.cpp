#include "core/base/mail_address.hpp"

#include <algorithm>

#include "core/base/text.hpp"

namespace nidan {
namespace {

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

}  // namespace

problem email_problem(std::string_view email) {
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

}  // namespace nidan
