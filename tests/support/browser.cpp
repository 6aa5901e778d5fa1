#include "nidan_test/browser.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <stdexcept>

namespace nidan_test {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t");
    return std::string(s.substr(b, e - b + 1));
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// The value of attribute `name` ("" allowed) inside one tag's text; nullopt when absent.
std::optional<std::string> attribute_of(std::string_view tag, std::string_view name) {
    const std::string needle = std::string(name) + "=\"";
    for (std::size_t at = tag.find(needle); at != std::string_view::npos; at = tag.find(needle, at + 1)) {
        const char before = at == 0 ? ' ' : tag[at - 1];
        if (before != ' ' && before != '\t' && before != '\n' && before != '\r') continue;
        const auto start = at + needle.size();
        const auto end = tag.find('"', start);
        if (end == std::string_view::npos) return std::nullopt;
        return html_unescape(tag.substr(start, end - start));
    }
    return std::nullopt;
}

}  // namespace

std::string form_encode(std::string_view text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += ch;
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0F];
        }
    }
    return out;
}

std::string form_body(const form_fields& fields) {
    std::string body;
    for (const auto& [name, value] : fields) {
        if (!body.empty()) body += '&';
        body += form_encode(name);
        body += '=';
        body += form_encode(value);
    }
    return body;
}

std::string set_cookie_header::attribute(const std::string& lower_name) const {
    const auto it = attributes.find(lower_name);
    return it == attributes.end() ? "" : it->second;
}

std::optional<set_cookie_header> parse_set_cookie(const std::string& header_value) {
    std::string_view rest(header_value);
    const auto first_end = rest.find(';');
    const auto pair = rest.substr(0, first_end);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    set_cookie_header cookie;
    cookie.name = trim(pair.substr(0, eq));
    cookie.value = trim(pair.substr(eq + 1));
    if (cookie.name.empty()) return std::nullopt;
    rest = first_end == std::string_view::npos ? std::string_view{} : rest.substr(first_end + 1);
    while (!rest.empty()) {
        const auto end = rest.find(';');
        const auto item = rest.substr(0, end);
        const auto item_eq = item.find('=');
        const auto key = lower(trim(item.substr(0, item_eq)));
        const auto value = item_eq == std::string_view::npos ? std::string() : trim(item.substr(item_eq + 1));
        if (!key.empty()) cookie.attributes.emplace(key, value);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    }
    return cookie;
}

std::vector<set_cookie_header> set_cookies(const http_reply& reply) {
    std::vector<set_cookie_header> out;
    const auto [begin, end] = reply.headers.equal_range("set-cookie");
    for (auto it = begin; it != end; ++it)
        if (auto cookie = parse_set_cookie(it->second)) out.push_back(std::move(*cookie));
    return out;
}

std::optional<set_cookie_header> set_cookie_named(const http_reply& reply, const std::string& name) {
    for (auto& cookie : set_cookies(reply))
        if (cookie.name == name) return cookie;
    return std::nullopt;
}

std::string html_unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '&') {
            out += text[i++];
            continue;
        }
        const auto semi = text.find(';', i);
        if (semi == std::string_view::npos || semi - i > 10) {
            out += text[i++];
            continue;
        }
        const auto entity = text.substr(i + 1, semi - i - 1);
        std::optional<std::uint32_t> cp;
        if (entity == "amp") cp = '&';
        else if (entity == "lt") cp = '<';
        else if (entity == "gt") cp = '>';
        else if (entity == "quot") cp = '"';
        else if (entity == "apos") cp = '\'';
        else if (entity.size() > 1 && entity[0] == '#') {
            const bool is_hex = entity[1] == 'x' || entity[1] == 'X';
            const auto digits = entity.substr(is_hex ? 2 : 1);
            try {
                if (!digits.empty()) cp = static_cast<std::uint32_t>(std::stoul(std::string(digits), nullptr, is_hex ? 16 : 10));
            } catch (const std::exception&) {
                cp.reset();
            }
        }
        if (!cp) {
            out += text[i++];
            continue;
        }
        append_utf8(out, *cp);
        i = semi + 1;
    }
    return out;
}

std::optional<std::string> input_value(const std::string& html, const std::string& name) {
    for (auto at = html.find("<input"); at != std::string::npos; at = html.find("<input", at + 1)) {
        const auto end = html.find('>', at);
        if (end == std::string::npos) return std::nullopt;
        const std::string_view tag(html.data() + at, end - at);
        if (attribute_of(tag, "name") != name) continue;
        return attribute_of(tag, "value");
    }
    return std::nullopt;
}

std::optional<std::string> browser::cookie(const std::string& name) const {
    const auto it = jar_.find(name);
    if (it == jar_.end()) return std::nullopt;
    return it->second;
}

std::string browser::cookie_header() const {
    std::string header;
    for (const auto& [name, value] : jar_) {
        if (!header.empty()) header += "; ";
        header += name + "=" + value;
    }
    return header;
}

http_reply browser::get(const std::string& path, const header_list& extra) { return send("GET", path, nullptr, "", extra); }

http_reply browser::post_form(const std::string& path, const form_fields& fields, const header_list& extra) {
    const auto body = form_body(fields);
    return send("POST", path, &body, "application/x-www-form-urlencoded", extra);
}

http_reply browser::post(const std::string& path, const std::string& body, const std::string& content_type,
                         const header_list& extra) {
    return send("POST", path, &body, content_type, extra);
}

http_reply browser::send(const std::string& method, const std::string& path, const std::string* body,
                         const std::string& content_type, const header_list& extra) {
    std::string text = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                       "\r\nConnection: close\r\nUser-Agent: nidan-test-browser\r\n";
    if (const auto cookies = cookie_header(); !cookies.empty()) text += "Cookie: " + cookies + "\r\n";
    if (body) {
        if (!content_type.empty()) text += "Content-Type: " + content_type + "\r\n";
        text += "Content-Length: " + std::to_string(body->size()) + "\r\n";
    }
    for (const auto& [name, value] : extra) text += name + ": " + value + "\r\n";
    text += "\r\n";
    if (body) text += *body;
    connection conn(port_);
    conn.send(text);
    auto reply = conn.read_reply(method == "HEAD");
    if (!reply) throw std::runtime_error(method + " " + path + ": no complete reply");
    remember(*reply);
    return std::move(*reply);
}

void browser::remember(const http_reply& reply) {
    for (const auto& cookie : set_cookies(reply)) {
        bool expired = false;
        if (cookie.has("max-age")) {
            try {
                expired = std::stol(cookie.attribute("max-age")) <= 0;
            } catch (const std::exception&) {
                expired = false;
            }
        }
        if (expired)
            jar_.erase(cookie.name);
        else
            jar_[cookie.name] = cookie.value;
    }
}

}  // namespace nidan_test
