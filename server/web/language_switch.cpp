#include "server/web/language_switch.hpp"

#include <algorithm>

#include "core/web/cookies.hpp"
#include "core/web/form_data.hpp"
#include "server/http/request_language.hpp"
#include "server/web/page_response.hpp"

namespace nidan::server {
namespace {

std::string percent_encoded(std::string_view text) {
    constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') ||
                           byte == '-' || byte == '.' || byte == '_' || byte == '~';
        if (plain) {
            out += ch;
        } else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0F];
        }
    }
    return out;
}

// A path of this site: "/..." but not "//host" or "/\host" (browsers read both as another
// host), printable ASCII only.
bool is_local_path(std::string_view path) {
    if (!path.starts_with('/') || path.starts_with("//") || path.starts_with("/\\")) return false;
    return std::all_of(path.begin(), path.end(), [](char ch) {
        const auto byte = static_cast<unsigned char>(ch);
        return byte > 0x20 && byte < 0x7F;
    });
}

}  // namespace

std::string language_switch_url(std::string_view tag, std::string_view target) {
    std::string url(language_switch_prefix);
    url += tag;
    url += "?next=";
    url += percent_encoded(target);
    return url;
}

response switch_language(const request& req, std::string_view tag, bool secure, const std::string& fallback) {
    std::string next = fallback;
    const auto target = std::string_view(req.target().data(), req.target().size());
    if (const auto query = target.find('?'); query != std::string_view::npos) {
        std::string error;
        if (const auto form = parse_form(target.substr(query + 1), error)) {
            const auto wanted = form->get("next");
            if (is_local_path(wanted)) next = std::string(wanted);
        }
    }
    return see_other(req, next, {set_cookie_value(language_cookie, tag, {secure, language_cookie_lifetime_s})});
}

}  // namespace nidan::server
