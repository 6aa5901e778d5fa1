#include "core/config/config.hpp"

#include <cstdlib>

#include "core/base/mail_address.hpp"
#include "core/base/text.hpp"

#include <arpa/inet.h>  // inet_pton only: the libc's strict address syntax, no sockets

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <ratio>
#include <span>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nidan {
namespace {

// ---------------------------------------------------------------------------------------------
// Raw values: the same setter serves the file (values typed by TOML) and --set (always text),
// so a key behaves identically wherever it is given.

struct raw_value {
    std::string_view key;
    const toml::node* node = nullptr;  // set for file values; otherwise `text` is used
    std::string_view text;
    std::string origin;  // appended to error messages so the operator knows where to look
};

// Control bytes are written escaped, so a value holding CR or LF cannot split the message.
std::string quote(std::string_view s, char q = '\'') {
    std::string out(1, q);
    for (const char ch : s) {
        const auto byte = static_cast<unsigned char>(ch);
        if (ch == '\r') {
            out += "\\r";
        } else if (ch == '\n') {
            out += "\\n";
        } else if (byte < 0x20 || byte == 0x7f) {
            constexpr std::string_view hex = "0123456789abcdef";
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        } else {
            out += ch;
        }
    }
    out += q;
    return out;
}

std::string_view trim_view(std::string_view s) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(space);
    return s.substr(first, last - first + 1);
}

// What the operator actually wrote, for the ", got ..." part of an error.
std::string describe(const raw_value& v) {
    if (v.node == nullptr) return quote(v.text);
    const toml::node& n = *v.node;
    if (const auto* s = n.as_string()) return "the string " + quote(s->get(), '"');
    if (const auto* i = n.as_integer()) return std::to_string(i->get());
    if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
    if (const auto* f = n.as_floating_point()) {
        std::ostringstream out;
        out << *f;
        return "the float " + out.str();
    }
    if (n.is_table()) return "a table";
    if (n.is_array()) return "an array";
    return "a date/time";
}

// `detail` says what exactly is wrong when `expected` alone would leave the operator guessing.
[[noreturn]] void reject(const raw_value& v, std::string_view expected,
                         std::string_view detail = {}) {
    std::string reason = std::string(expected) + ", got " + describe(v);
    if (!detail.empty()) reason += ": " + std::string(detail);
    throw config_error(std::string(v.key), reason + v.origin);
}

std::string origin_of(const toml::source_region& where) {
    std::string out = " (at ";
    if (where.path) out += *where.path + " ";
    out += "line " + std::to_string(where.begin.line) + ", column " +
           std::to_string(where.begin.column) + ")";
    return out;
}

std::int64_t read_integer(const raw_value& v, std::int64_t lo, std::int64_t hi,
                          std::string_view expected) {
    std::int64_t n = 0;
    if (v.node != nullptr) {
        const auto* i = v.node->as_integer();
        if (i == nullptr) reject(v, expected);
        n = i->get();
    } else {
        const char* first = v.text.data();
        const char* last = first + v.text.size();
        auto [end, ec] = std::from_chars(first, last, n);
        if (ec != std::errc{} || end != last || v.text.empty()) reject(v, expected);
    }
    if (n < lo || n > hi) reject(v, expected);
    return n;
}

bool read_bool(const raw_value& v) {
    constexpr std::string_view expected = "must be true or false";
    if (v.node != nullptr) {
        const auto* b = v.node->as_boolean();
        if (b == nullptr) reject(v, expected);
        return b->get();
    }
    if (v.text == "true") return true;
    if (v.text == "false") return false;
    reject(v, expected);
}

std::string read_string(const raw_value& v, std::string_view expected) {
    if (v.node == nullptr) return std::string(v.text);
    const auto* s = v.node->as_string();
    if (s == nullptr) reject(v, expected);
    return s->get();
}

// ---------------------------------------------------------------------------------------------
// host:port

enum class host_kind { ipv4, ipv6, name };

bool is_ipv4(const std::string& host) {
    in_addr out{};
    return inet_pton(AF_INET, host.c_str(), &out) == 1;
}

bool is_ipv6(const std::string& host) {
    in6_addr out{};
    return inet_pton(AF_INET6, host.c_str(), &out) == 1;
}

// 127.0.0.0/8, ::1 and "localhost": a listener there is reached only from this machine.
bool is_loopback_host(const std::string& host) {
    if (host == "localhost") return true;
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
    // ::ffff:127.x.y.z is the IPv4 loopback as a dual-stack socket names it.
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
    return IN6_IS_ADDR_LOOPBACK(&v6);
}

// RFC 1123 host name. A purely numeric last label is refused so that a mistyped address such
// as 10.0.0.256 is reported instead of being looked up in DNS.
bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    std::string_view last_label;
    while (!host.empty()) {
        const auto dot = host.find('.');
        const std::string_view label = host.substr(0, dot);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        const bool ok = std::all_of(label.begin(), label.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-';
        });
        if (!ok) return false;
        last_label = label;
        if (dot == std::string_view::npos) break;
        host.remove_prefix(dot + 1);
        if (host.empty()) return false;  // trailing dot
    }
    return !std::all_of(last_label.begin(), last_label.end(),
                        [](char c) { return c >= '0' && c <= '9'; });
}

struct parsed_host_port {
    host_port value;
    host_kind kind = host_kind::name;
};

constexpr std::string_view host_port_expected =
    "must be host:port (IPv4, [IPv6] in brackets or a host name; port 0 to 65535)";

// Says why `text` is not host:port; nullopt when it is (and `out` then holds it).
problem split_host_port(std::string_view text, parsed_host_port& out) {
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.starts_with(':')) return "missing ':port' after ']'";
        port = rest.substr(1);
        if (!is_ipv6(std::string(host))) return "not an IPv6 address inside the brackets";
        out.kind = host_kind::ipv6;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return "missing ':port'";
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return "IPv6 addresses must be written in brackets, e.g. [::1]:8080";
        if (host.empty()) return "missing host (use 0.0.0.0 or [::] for every interface)";
        const std::string h(host);
        if (is_ipv4(h)) {
            out.kind = host_kind::ipv4;
        } else if (is_host_name(host)) {
            out.kind = host_kind::name;
        } else {
            return "not an IPv4 address or host name: " + quote(host);
        }
    }
    if (port.empty()) return "missing port after ':'";
    unsigned number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc{} || end != port.data() + port.size() || port.size() > 5 ||
        number > 65535)
        return "port must be a number from 0 to 65535";
    out.value.host = std::string(host);
    out.value.port = static_cast<std::uint16_t>(number);
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The key table. Each entry says where its value lives and how it is checked; the same entry
// handles the file and --set.

using setter = std::function<void(config&, const raw_value&)>;

struct key_def {
    std::string_view name;  // "section.key": a public interface, scripts depend on it
    std::string_view help;
    setter set;
};

// Reaches one member of one section, so an entry can name its field without a lambda.
template <class Section, class T>
struct field {
    Section config::*section;
    T Section::*member;
    T& operator()(config& c) const { return (c.*section).*member; }
};
template <class Section, class T>
field(Section config::*, T Section::*) -> field<Section, T>;

std::string range_text(std::string_view what, std::int64_t lo, std::int64_t hi) {
    return "must be " + std::string(what) + " from " + std::to_string(lo) + " to " +
           std::to_string(hi);
}

template <std::int64_t Lo, std::int64_t Hi, class Section, class T>
setter integer_key(field<Section, T> f) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    static_assert(Lo <= Hi && std::in_range<T>(Lo) && std::in_range<T>(Hi),
                  "the allowed range must fit the field's type");
    return [f, expected = range_text("an integer", Lo, Hi)](config& c, const raw_value& v) {
        f(c) = static_cast<T>(read_integer(v, Lo, Hi, expected));
    };
}

template <class Duration>
constexpr std::string_view unit_name() {
    if constexpr (std::is_same_v<typename Duration::period, std::milli>) {
        return "milliseconds";
    } else if constexpr (std::is_same_v<typename Duration::period, std::ratio<3600>>) {
        return "hours";
    } else {
        static_assert(std::is_same_v<typename Duration::period, std::ratio<1>>);
        return "seconds";
    }
}

// Durations are plain integers; the unit is part of the key name (_ms, _s).
template <std::int64_t Lo, std::int64_t Hi, class Section, class Duration>
setter duration_key(field<Section, Duration> f) {
    static_assert(Lo >= 0 && Lo <= Hi);
    const std::string what = "an integer number of " + std::string(unit_name<Duration>());
    return [f, expected = range_text(what, Lo, Hi)](config& c, const raw_value& v) {
        f(c) = Duration{read_integer(v, Lo, Hi, expected)};
    };
}

template <class Section>
setter bool_key(field<Section, bool> f) {
    return [f](config& c, const raw_value& v) { f(c) = read_bool(v); };
}

enum class empty_path { allowed, refused };

template <class Section>
setter path_key(field<Section, std::filesystem::path> f, empty_path empty) {
    const std::string expected = empty == empty_path::allowed
                                     ? "must be a path (a string, may be empty)"
                                     : "must be a non-empty path (a string)";
    return [f, empty, expected](config& c, const raw_value& v) {
        std::string text = read_string(v, expected);
        // The OS would silently cut the path at a NUL, so a different file would be used.
        if (text.find('\0') != std::string::npos) reject(v, "must be a path without NUL");
        if (text.empty() && empty == empty_path::refused) reject(v, expected);
        f(c) = std::filesystem::path(std::move(text));
    };
}

template <class Value>
using choices = std::span<const std::pair<std::string_view, Value>>;

template <class Value>
std::string choices_text(choices<Value> options) {
    std::string out = "must be one of ";
    for (std::size_t i = 0; i < options.size(); ++i) {
        if (i != 0) out += ", ";
        out += options[i].first;
    }
    return out;
}

template <class Section, class T, class Value>
setter choice_key(field<Section, T> f, choices<Value> options) {
    return [f, options, expected = choices_text(options)](config& c, const raw_value& v) {
        const std::string text = read_string(v, expected);
        for (const auto& [name, value] : options) {
            if (text == name) {
                f(c) = static_cast<T>(value);
                return;
            }
        }
        reject(v, expected);
    };
}

constexpr std::array durability_choices{
    std::pair{std::string_view{"full_sync"}, durability_mode::full_sync},
    std::pair{std::string_view{"no_meta_sync"}, durability_mode::no_meta_sync},
    std::pair{std::string_view{"no_sync"}, durability_mode::no_sync},
};
constexpr std::array storage_backend_choices{
    std::pair{std::string_view{"lmdb"}, storage_backend::lmdb},
    std::pair{std::string_view{"postgres"}, storage_backend::postgres},
};
constexpr std::array smtp_tls_choices{
    std::pair{std::string_view{"none"}, smtp_tls_mode::none},
    std::pair{std::string_view{"starttls"}, smtp_tls_mode::starttls},
    std::pair{std::string_view{"tls"}, smtp_tls_mode::tls},
};
constexpr std::array hash_scheduling_choices{
    std::pair{std::string_view{"normal"}, hash_scheduling::normal},
    std::pair{std::string_view{"idle"}, hash_scheduling::idle},
};
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> log_level_choices{{
    {"trace", "trace"},
    {"debug", "debug"},
    {"info", "info"},
    {"warn", "warn"},
    {"error", "error"},
    {"off", "off"},
}};

// Listening needs an address we can bind without DNS; connecting (the relay) may use any name,
// but port 0 means nothing there.
enum class endpoint_use { listen, connect };

template <class Section>
setter host_port_key(field<Section, host_port> f, endpoint_use use) {
    return [f, use](config& c, const raw_value& v) {
        const std::string text = read_string(v, host_port_expected);
        parsed_host_port parsed;
        if (const problem why = split_host_port(text, parsed))
            reject(v, host_port_expected, *why);
        if (use == endpoint_use::listen && parsed.kind == host_kind::name &&
            parsed.value.host != "localhost")
            reject(v, "must be an IPv4 address, [IPv6] or localhost with a port, to listen on");
        if (use == endpoint_use::connect && parsed.value.port == 0)
            reject(v, "must name a port from 1 to 65535 to connect to");
        f(c) = std::move(parsed.value);
    };
}

// ---------------------------------------------------------------------------------------------
// Text values. They end up in mail headers, the SMTP dialogue and pages, so CR and LF (which
// would start a new header line or SMTP command) and NUL (which cuts C strings and separates
// AUTH PLAIN fields) are refused everywhere; --set text must also be valid UTF-8 (the TOML
// parser already checks the file).

std::string read_line_of_text(const raw_value& v, std::string_view expected) {
    std::string text = read_string(v, expected);
    if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        reject(v, "must be a single line of text",
               "CR, LF and NUL are refused: they would inject lines into mail headers or the "
               "SMTP dialogue");
    if (!is_valid_utf8(text)) reject(v, "must be valid UTF-8 text");
    return text;
}

enum class empty_string { allowed, refused };

template <class Section>
setter string_key(field<Section, std::string> f, empty_string empty) {
    const std::string expected = empty == empty_string::allowed
                                     ? "must be a line of text (a string, may be empty)"
                                     : "must be a non-empty line of text (a string)";
    return [f, empty, expected](config& c, const raw_value& v) {
        std::string text = read_line_of_text(v, expected);
        if (text.empty() && empty == empty_string::refused) reject(v, expected);
        f(c) = std::move(text);
    };
}

// Says why the text is not fine; nullopt when it is.
using text_check = problem (*)(std::string_view);

// A non-empty line of text that must also pass `check`; `what` says what it must be.
template <class Section>
setter string_key(field<Section, std::string> f, std::string_view what, text_check check) {
    return [f, expected = "must be " + std::string(what), check](config& c, const raw_value& v) {
        std::string text = read_line_of_text(v, expected);
        if (text.empty()) reject(v, expected);
        if (const problem why = check(text)) reject(v, expected, *why);
        f(c) = std::move(text);
    };
}

problem host_name_problem(std::string_view text) {
    if (is_host_name(text)) return std::nullopt;
    return "dot-separated labels of letters, digits and hyphens, at most 253 characters";
}

// EHLO's argument (RFC 5321 4.1.3): our host name, or an address literal when there is none.
problem helo_name_problem(std::string_view text) {
    if (text.starts_with('[') && text.ends_with(']')) {
        const std::string_view inner = text.substr(1, text.size() - 2);
        constexpr std::string_view v6_tag = "IPv6:";
        if (inner.starts_with(v6_tag)) {
            if (is_ipv6(std::string(inner.substr(v6_tag.size())))) return std::nullopt;
            return "not an IPv6 address after '[IPv6:'";
        }
        if (is_ipv4(std::string(inner))) return std::nullopt;
        return "not an IPv4 address inside the brackets (IPv6 is written [IPv6:2001:db8::1])";
    }
    return host_name_problem(text);
}

problem url_problem(std::string_view text);

problem language_tag_problem(std::string_view text) {
    if (is_language_tag(text)) return std::nullopt;
    return "not a lower-case language tag";
}

// UTC, or a name of the system's time zone database (Debian's tzdata), as TZ reads it.
problem time_zone_problem(std::string_view text) {
    if (text == "UTC") return std::nullopt;
    const bool safe = std::all_of(text.begin(), text.end(), [](char ch) {
        return is_ascii_letter(ch) || is_ascii_digit(ch) || ch == '/' || ch == '_' || ch == '-' || ch == '+';
    });
    if (!safe || text.starts_with('/') || text.find("..") != std::string_view::npos)
        return "not a time zone name";
    const char* dir = std::getenv("TZDIR");
    const std::filesystem::path file = std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") / text;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return "no such time zone in " + file.parent_path().string();
    return std::nullopt;
}

problem public_url_problem(std::string_view text) {
    if (problem why = url_problem(text)) return why;
    if (text.ends_with('/')) return "leave out the trailing /";
    if (text.find_first_of("?#") != std::string_view::npos) return "a query or fragment has no place here";
    return std::nullopt;
}

problem url_problem(std::string_view text) {
    std::string_view rest;
    if (text.starts_with("https://")) {
        rest = text.substr(8);
    } else if (text.starts_with("http://")) {
        rest = text.substr(7);
    } else {
        return "it must start with https:// or http://";
    }
    if (rest.substr(0, rest.find_first_of("/?#")).empty()) return "the host is missing";
    const bool clean = std::none_of(text.begin(), text.end(), [](char ch) {
        const auto byte = static_cast<unsigned char>(ch);
        return byte <= 0x20 || byte == 0x7f;
    });
    if (!clean) return "spaces and control characters must be percent-encoded";
    return std::nullopt;
}

problem email_address_problem(std::string_view text) {
    problem why = email_problem(text);
    constexpr std::string_view prefix = "email: ";
    if (why && why->starts_with(prefix)) why->erase(0, prefix.size());
    return why;
}

// The elements of a list value, each a raw_value of its own so describe() can show it: a TOML
// array in the file; with --set comma-separated text, spaces around elements ignored, and empty
// text the empty list.
std::vector<raw_value> list_elements(const raw_value& v, std::string_view expected) {
    std::vector<raw_value> elements;
    if (v.node != nullptr) {
        const auto* array = v.node->as_array();
        if (array == nullptr) reject(v, expected);
        for (const toml::node& element : *array)
            elements.push_back(raw_value{v.key, &element, {}, v.origin});
    } else if (!trim_view(v.text).empty()) {
        std::string_view rest = v.text;
        while (true) {
            const auto comma = rest.find(',');
            elements.push_back(
                raw_value{v.key, nullptr, trim_view(rest.substr(0, comma)), v.origin});
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return elements;
}

// A list of durations: a TOML array of integers in the file, "5,15,30" with --set. At least
// MinCount and at most MaxCount elements, each from Lo to Hi, none smaller than the one before.
template <std::size_t MinCount, std::size_t MaxCount, std::int64_t Lo, std::int64_t Hi,
          class Section, class Duration>
setter duration_list_key(field<Section, std::vector<Duration>> f) {
    static_assert(MinCount <= MaxCount && Lo >= 0 && Lo <= Hi);
    const std::string expected =
        "must be a list of " + std::to_string(MinCount) + " to " + std::to_string(MaxCount) +
        " integer numbers of " + std::string(unit_name<Duration>()) + ", each from " +
        std::to_string(Lo) + " to " + std::to_string(Hi) +
        " and none smaller than the one before (in the file [5, 15, 30], with --set 5,15,30)";
    return [f, expected](config& c, const raw_value& v) {
        const std::vector<raw_value> elements = list_elements(v, expected);
        if (elements.size() < MinCount || elements.size() > MaxCount)
            reject(v, expected, "it has " + std::to_string(elements.size()) + " elements");
        std::vector<Duration> out;
        for (const raw_value& element : elements) {
            const std::string position = "element " + std::to_string(out.size() + 1);
            std::optional<std::int64_t> n;
            if (element.node != nullptr) {
                if (const auto* i = element.node->as_integer()) n = i->get();
            } else {
                std::int64_t parsed = 0;
                const char* first = element.text.data();
                const char* last = first + element.text.size();
                auto [end, ec] = std::from_chars(first, last, parsed);
                if (ec == std::errc{} && end == last && first != last) n = parsed;
            }
            if (!n || *n < Lo || *n > Hi)
                reject(v, expected, position + " is " + describe(element));
            if (!out.empty() && *n < out.back().count())
                reject(v, expected,
                       position + " (" + std::to_string(*n) + ") is smaller than the one before (" +
                           std::to_string(out.back().count()) + ")");
            out.push_back(Duration{*n});
        }
        f(c) = std::move(out);
    };
}

constexpr std::int64_t one_hour_ms = 3'600'000;

// A list of IP addresses (IPv4 or IPv6, no port, no prefix length), kept as written: a TOML
// array of strings in the file, "192.0.2.1,2001:db8::1" with --set; may be empty.
template <class Section>
setter address_list_key(field<Section, std::vector<std::string>> f) {
    const std::string expected =
        "must be a list of IPv4 or IPv6 addresses, without port or /prefix (in the file "
        "[\"192.0.2.1\", \"2001:db8::1\"], with --set 192.0.2.1,2001:db8::1; may be empty)";
    return [f, expected](config& c, const raw_value& v) {
        std::vector<std::string> out;
        for (const raw_value& element : list_elements(v, expected)) {
            const std::string position = "element " + std::to_string(out.size() + 1);
            std::string text;
            if (element.node == nullptr) {
                text = std::string(element.text);
            } else if (const auto* str = element.node->as_string()) {
                text = str->get();
            } else {
                reject(v, expected, position + " is " + describe(element));
            }
            // inet_pton would stop at a NUL and accept what precedes it.
            if (text.find('\0') != std::string::npos || (!is_ipv4(text) && !is_ipv6(text)))
                reject(v, expected,
                       position + " (" + quote(text) + ") is not an IPv4 or IPv6 address");
            out.push_back(std::move(text));
        }
        f(c) = std::move(out);
    };
}

const std::vector<key_def>& keys() {
    using S = server_config;
    using St = storage_config;
    using H = hash_config;
    using M = smtp_config;
    using O = operator_config;
    using L = log_config;
    using T = throttle_config;
    static const std::vector<key_def> table{
        {"server.listen", "address and port to accept HTTP(S) on; port 0 picks a free port",
         host_port_key(field{&config::server, &S::listen}, endpoint_use::listen)},
        {"server.io_threads", "threads running the network event loop",
         integer_key<1, 256>(field{&config::server, &S::io_threads})},
        {"server.max_connections", "open connections at most; more wait in the accept queue",
         integer_key<1, 1'000'000>(field{&config::server, &S::max_connections})},
        {"server.max_header_bytes", "largest request line plus headers, bytes",
         integer_key<1024, 1024 * 1024>(field{&config::server, &S::max_header_bytes})},
        {"server.max_body_bytes", "largest request body, bytes",
         integer_key<1024, 16 * 1024 * 1024>(field{&config::server, &S::max_body_bytes})},
        {"server.header_timeout_ms", "first byte to end of headers",
         duration_key<1, one_hour_ms>(field{&config::server, &S::header_timeout})},
        {"server.body_timeout_ms", "end of headers to end of body",
         duration_key<1, one_hour_ms>(field{&config::server, &S::body_timeout})},
        {"server.write_timeout_ms", "time to send one response",
         duration_key<1, one_hour_ms>(field{&config::server, &S::write_timeout})},
        {"server.idle_timeout_ms", "keep-alive wait for the next request",
         duration_key<1, one_hour_ms>(field{&config::server, &S::idle_timeout})},
        {"server.shutdown_grace_ms", "how long in-flight requests may finish on shutdown",
         duration_key<1, one_hour_ms>(field{&config::server, &S::shutdown_grace})},
        {"server.static_dir", "folder served under /static/",
         path_key(field{&config::server, &S::static_dir}, empty_path::refused)},
        {"server.templates_dir", "folder of the HTML and mail templates",
         path_key(field{&config::server, &S::templates_dir}, empty_path::refused)},
        {"server.static_max_age_s", "Cache-Control max-age of static files",
         duration_key<0, 31'536'000>(field{&config::server, &S::static_max_age})},
        {"server.behind_tls", "reached through a TLS-terminating proxy: Secure, __Host- cookies",
         bool_key(field{&config::server, &S::behind_tls})},
        {"server.hsts_max_age_s", "Strict-Transport-Security max-age under TLS or behind_tls; 0 sends none",
         duration_key<0, 63'072'000>(field{&config::server, &S::hsts_max_age})},
        {"server.allow_plain_http", "allow a non-loopback listener without TLS and without behind_tls",
         bool_key(field{&config::server, &S::allow_plain_http})},
        {"server.max_connections_per_client", "open connections one client address (IPv6: /64) holds at most",
         integer_key<1, 1'000'000>(field{&config::server, &S::max_connections_per_client})},
        {"server.trusted_proxies", "proxy addresses whose X-Forwarded-For entry is believed",
         address_list_key(field{&config::server, &S::trusted_proxies})},
        {"server.public_url", "where customers reach nidan; links in mails start with it",
         string_key(field{&config::server, &S::public_url}, "an https:// or http:// URL without a trailing /",
                    public_url_problem)},
        {"tls.enabled", "serve HTTPS instead of HTTP",
         bool_key(field{&config::tls, &tls_config::enabled})},
        {"tls.cert_file", "PEM certificate chain",
         path_key(field{&config::tls, &tls_config::cert_file}, empty_path::allowed)},
        {"tls.key_file", "PEM private key",
         path_key(field{&config::tls, &tls_config::key_file}, empty_path::allowed)},
        {"storage.backend", "where the state lives: lmdb (one node) or postgres (several nodes)",
         choice_key(field{&config::storage, &St::backend}, choices<storage_backend>(storage_backend_choices))},
        {"storage.postgres_url", "libpq connection URI of the shared database (backend = postgres)",
         string_key(field{&config::storage, &St::postgres_url}, empty_string::allowed)},
        {"storage.postgres_password_file", "file holding the database password; empty: libpq's own means",
         path_key(field{&config::storage, &St::postgres_password_file}, empty_path::allowed)},
        {"storage.postgres_pool_size", "database connections (and storage threads) per process",
         integer_key<1, 256>(field{&config::storage, &St::postgres_pool_size})},
        {"storage.postgres_connect_timeout_ms", "longest wait for a database connection",
         duration_key<1000, 600'000>(field{&config::storage, &St::postgres_connect_timeout})},
        {"storage.postgres_statement_timeout_ms", "longest a database statement may run (then 503)",
         duration_key<100, 600'000>(field{&config::storage, &St::postgres_statement_timeout})},
        {"storage.data_dir", "folder holding the LMDB files",
         path_key(field{&config::storage, &St::data_dir}, empty_path::refused)},
        {"storage.map_size_mib", "largest size the database may grow to, MiB",
         integer_key<1, 1024 * 1024>(field{&config::storage, &St::map_size_mib})},
        {"storage.max_readers", "concurrent read transactions at most",
         integer_key<1, 100'000>(field{&config::storage, &St::max_readers})},
        {"storage.durability", "what a commit waits for: full_sync, no_meta_sync or no_sync",
         choice_key(field{&config::storage, &St::durability},
                    choices<durability_mode>(durability_choices))},
        {"storage.secret_file", "file holding the server secret (created 0600); empty keeps it in LMDB",
         path_key(field{&config::storage, &St::secret_file}, empty_path::allowed)},
        {"storage.sweep_interval_s", "how often expired records are removed",
         duration_key<1, 86'400>(field{&config::storage, &St::sweep_interval})},
        {"storage.writer_max_batch", "writes committed in one transaction at most",
         integer_key<1, 100'000>(field{&config::storage, &St::writer_max_batch})},
        {"storage.writer_max_queue", "writes waiting past this are refused (overloaded)",
         integer_key<1, 10'000'000>(field{&config::storage, &St::writer_max_queue})},
        {"hash.threads", "threads computing Argon2id",
         integer_key<1, 256>(field{&config::hash, &H::threads})},
        {"hash.memory_kib", "Argon2id memory per hash, KiB",
         integer_key<8, 4'194'304>(field{&config::hash, &H::memory_kib})},
        {"hash.iterations", "Argon2id passes over the memory",
         integer_key<1, 100>(field{&config::hash, &H::iterations})},
        {"hash.max_queue", "password checks waiting past this answer 503",
         integer_key<1, 1'000'000>(field{&config::hash, &H::max_queue})},
        {"hash.thread_nice", "scheduling niceness of the hash threads (0 = as the io threads)",
         integer_key<0, 19>(field{&config::hash, &H::thread_nice})},
        {"hash.thread_scheduling", "normal, or idle: the hash threads run only on CPU time nothing else wants",
         choice_key(field{&config::hash, &H::scheduling}, choices<hash_scheduling>(hash_scheduling_choices))},
        {"hash.max_cost_factor", "stored or imported hashes with m or t above this many times ours are refused",
         integer_key<1, 64>(field{&config::hash, &H::max_cost_factor})},
        {"hash.import_min_memory_kib", "imported hashes with less Argon2id memory are refused, KiB",
         integer_key<8, 4'194'304>(field{&config::hash, &H::import_min_memory_kib})},
        {"hash.import_min_iterations", "imported hashes with fewer Argon2id passes are refused",
         integer_key<1, 100>(field{&config::hash, &H::import_min_iterations})},
        {"smtp.relay", "SMTP server that sends the login codes",
         host_port_key(field{&config::smtp, &M::relay}, endpoint_use::connect)},
        {"smtp.tls", "encryption towards the relay: none, starttls or tls",
         choice_key(field{&config::smtp, &M::tls}, choices<smtp_tls_mode>(smtp_tls_choices))},
        {"smtp.verify_certificate", "check the relay's TLS certificate and host name",
         bool_key(field{&config::smtp, &M::verify_certificate})},
        {"smtp.ca_file", "PEM CA certificates for the relay; empty uses the system store",
         path_key(field{&config::smtp, &M::ca_file}, empty_path::allowed)},
        {"smtp.username", "AUTH user name; empty sends without AUTH",
         string_key(field{&config::smtp, &M::username}, empty_string::allowed)},
        {"smtp.password_file", "file whose first line is the AUTH password",
         path_key(field{&config::smtp, &M::password_file}, empty_path::allowed)},
        {"smtp.allow_auth_without_tls", "permit AUTH when smtp.tls = none",
         bool_key(field{&config::smtp, &M::allow_auth_without_tls})},
        {"smtp.helo_name", "our name in EHLO: a host name or [address literal]",
         string_key(field{&config::smtp, &M::helo_name},
                    "a host name or an address literal such as [192.0.2.1]", helo_name_problem)},
        {"smtp.pool_size", "connections to the relay at most",
         integer_key<1, 64>(field{&config::smtp, &M::pool_size})},
        {"smtp.max_messages_per_connection", "messages over one connection before it is closed",
         integer_key<1, 100'000>(field{&config::smtp, &M::max_messages_per_connection})},
        {"smtp.connection_max_age_s", "a connection older than this is closed after its message",
         duration_key<1, 86'400>(field{&config::smtp, &M::connection_max_age})},
        {"smtp.idle_timeout_s", "an unused pooled connection is closed after this",
         duration_key<1, 3600>(field{&config::smtp, &M::idle_timeout})},
        {"smtp.connect_timeout_ms", "name resolution plus TCP connect",
         duration_key<1, one_hour_ms>(field{&config::smtp, &M::connect_timeout})},
        {"smtp.tls_timeout_ms", "TLS handshake with the relay",
         duration_key<1, one_hour_ms>(field{&config::smtp, &M::tls_timeout})},
        {"smtp.greeting_timeout_ms", "wait for the relay's 220 greeting",
         duration_key<1, one_hour_ms>(field{&config::smtp, &M::greeting_timeout})},
        {"smtp.command_timeout_ms", "wait for the reply to one SMTP command",
         duration_key<1, one_hour_ms>(field{&config::smtp, &M::command_timeout})},
        {"smtp.data_timeout_ms", "sending a message after DATA and waiting for its reply",
         duration_key<1, one_hour_ms>(field{&config::smtp, &M::data_timeout})},
        {"smtp.retry_backoff_s", "waits between delivery attempts; the last one repeats",
         duration_list_key<1, 20, 1, 3600>(field{&config::smtp, &M::retry_backoff})},
        {"smtp.max_attempts", "delivery attempts before a mail without expiry fails",
         integer_key<1, 1000>(field{&config::smtp, &M::max_attempts})},
        {"operator.language", "default language of the pages and mails: its catalog is the reference",
         string_key(field{&config::operator_info, &O::language},
                    "a language tag such as ja or en (templates/lang/<tag>.toml)", language_tag_problem)},
        {"operator.timezone", "time zone of the times shown to customers",
         string_key(field{&config::operator_info, &O::timezone},
                    "UTC or a time zone name such as Asia/Tokyo (from the system's tzdata)",
                    time_zone_problem)},
        {"operator.mail_domain", "domain customers must allow in their mail filter",
         string_key(field{&config::operator_info, &O::mail_domain}, "a host name",
                    host_name_problem)},
        {"operator.support_phone", "support phone number shown to customers",
         string_key(field{&config::operator_info, &O::support_phone}, empty_string::refused)},
        {"operator.enquiry_url", "enquiry form linked from pages and mails",
         string_key(field{&config::operator_info, &O::enquiry_url},
                    "an https:// or http:// URL", url_problem)},
        {"mail.from_address", "sender address (From and MAIL FROM) of the mails",
         string_key(field{&config::mail, &mail_config::from_address},
                    "an e-mail address such as no-reply@example.com", email_address_problem)},
        {"code.length", "digits in a login code",
         integer_key<4, 10>(field{&config::code, &code_config::length})},
        {"code.lifetime_s", "how long a login code can be used",
         duration_key<5, 86'400>(field{&config::code, &code_config::lifetime})},
        {"code.max_attempts", "wrong codes before the code is dead",
         integer_key<1, 20>(field{&config::code, &code_config::max_attempts})},
        {"code.mails_per_hour", "code mails per account per hour at most",
         integer_key<1, 100>(field{&config::code, &code_config::mails_per_hour})},
        {"session.idle_timeout_s", "a session unused this long ends",
         duration_key<60, 86'400>(field{&config::session, &session_config::idle_timeout})},
        {"session.absolute_lifetime_s", "a session ends this long after login, used or not",
         duration_key<300, 604'800>(
             field{&config::session, &session_config::absolute_lifetime})},
        {"password.min_length", "shortest password accepted, characters",
         integer_key<8, 64>(field{&config::password, &password_config::min_length})},
        {"throttle.address_free_failures", "password failures per client address in a window without delay",
         integer_key<0, 1'000'000>(field{&config::throttle, &T::address_free_failures})},
        {"throttle.address_base_delay_ms", "first delay per client address; it doubles with each failure",
         duration_key<0, one_hour_ms>(field{&config::throttle, &T::address_base_delay})},
        {"throttle.address_max_delay_ms", "longest delay per client address",
         duration_key<0, one_hour_ms>(field{&config::throttle, &T::address_max_delay})},
        {"throttle.address_window_s", "password failures per client address are counted per window of this length",
         duration_key<5, 86'400>(field{&config::throttle, &T::address_window})},
        {"throttle.account_free_failures", "password failures per account in a window without delay",
         integer_key<0, 1'000'000>(field{&config::throttle, &T::account_free_failures})},
        {"throttle.account_base_delay_ms", "first delay per account; it doubles with each failure",
         duration_key<0, one_hour_ms>(field{&config::throttle, &T::account_base_delay})},
        {"throttle.account_max_delay_ms", "longest delay per account",
         duration_key<0, one_hour_ms>(field{&config::throttle, &T::account_max_delay})},
        {"throttle.account_window_s", "password failures per account are counted per window of this length",
         duration_key<5, 86'400>(field{&config::throttle, &T::account_window})},
        {"throttle.address_queue_max", "delayed checks of one address that may wait their turn behind the one served",
         integer_key<0, 1000>(field{&config::throttle, &T::address_queue_max})},
        {"throttle.account_parallel_checks", "delayed checks of one account in flight at once, across all addresses",
         integer_key<1, 1000>(field{&config::throttle, &T::account_parallel_checks})},
        {"throttle.account_budget", "failures of one account in a sliding window after which checks are refused; 0 none",
         integer_key<0, 1'000'000>(field{&config::throttle, &T::account_budget})},
        {"throttle.account_lock_after", "failures in one account window that lock its password login; 0 never",
         integer_key<0, 1000>(field{&config::throttle, &T::account_lock_after})},
        {"address.phone_strikes", "wrong contact phone numbers before the address form locks",
         integer_key<1, 10>(field{&config::address, &address_config::phone_strikes})},
        {"address_change.hold_hours", "hours a new registered address waits, cancellable; 0 none",
         duration_key<0, 24 * 30>(field{&config::address_change, &address_change_config::hold})},
        {"address_change.only_without_working_address",
         "offer the address form only to accounts without an address or whose address bounced",
         bool_key(field{&config::address_change, &address_change_config::only_without_working_address})},
        {"auth.verify_any_portal", "serve plain /auth/verify, accepting a session of any portal",
         bool_key(field{&config::auth, &auth_config::verify_any_portal})},
        {"log.level", "least severe level written: trace, debug, info, warn, error, off",
         choice_key(field{&config::log, &L::level},
                    choices<std::string_view>(log_level_choices))},
        {"log.file", "main log file; empty writes to stderr",
         path_key(field{&config::log, &L::file}, empty_path::allowed)},
        {"log.audit_file", "audit log file; empty uses the main log",
         path_key(field{&config::log, &L::audit_file}, empty_path::allowed)},
        {"log.access_log", "log one line per HTTP request",
         bool_key(field{&config::log, &L::access_log})},
        {"log.flush_interval_ms", "longest a main or access log line waits in memory; 0 writes each at once",
         duration_key<0, 60'000>(field{&config::log, &L::flush_interval})},
    };
    return table;
}

const key_def* find_key(std::string_view name) {
    const auto& table = keys();
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const key_def& k) { return k.name == name; });
    return it == table.end() ? nullptr : &*it;
}

bool is_section(std::string_view name) {
    return std::any_of(keys().begin(), keys().end(), [&](const key_def& k) {
        return k.name.size() > name.size() && k.name.starts_with(name) &&
               k.name[name.size()] == '.';
    });
}

std::string section_list() {
    std::vector<std::string_view> sections;
    for (const auto& k : keys()) {
        const std::string_view section = k.name.substr(0, k.name.find('.'));
        if (std::find(sections.begin(), sections.end(), section) == sections.end())
            sections.push_back(section);
    }
    std::string out;
    for (const auto section : sections) {
        if (!out.empty()) out += ", ";
        out += section;
    }
    return out;
}

// For a key written above every [section]: name the sections that have it.
std::string section_hint(std::string_view key) {
    std::string matches;
    for (const auto& k : keys()) {
        if (!key.empty() && k.name.size() > key.size() && k.name.ends_with(key) &&
            k.name[k.name.size() - key.size() - 1] == '.') {
            matches += matches.empty() ? "; did you mean " : " or ";
            matches += k.name;
        }
    }
    return matches.empty() ? " (" + section_list() + ")" : matches + "?";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t change = a[i - 1] == b[j - 1] ? std::size_t{0} : std::size_t{1};
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + change});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// Typos and forgotten unit suffixes (header_timeout vs header_timeout_ms) are the usual cause.
// Keys that held customer-visible text before the texts moved to the language catalogs.
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> moved_to_catalogs{{
    {"operator.name", "[operator] name"},
    {"operator.support_hours", "[operator] support_hours"},
    {"mail.from_name", "[mail] from_name"},
}};

[[noreturn]] void unknown_key(const std::string& name, const std::string& origin) {
    for (const auto& [key, catalog_key] : moved_to_catalogs)
        if (name == key)
            throw config_error(name, "customer-visible texts are in the language catalogs now: set " +
                                         std::string(catalog_key) + " in templates/lang/<language>.toml" + origin);
    const key_def* best = nullptr;
    std::size_t best_distance = 4;  // farther than this is a guess, not a suggestion
    for (const auto& k : keys()) {
        const std::size_t d = edit_distance(name, k.name);
        if (d < best_distance) {
            best_distance = d;
            best = &k;
        }
    }
    std::string reason = "unknown key";
    if (best != nullptr)
        reason += "; did you mean " + std::string(best->name) + " (" + std::string(best->help) + ")?";
    throw config_error(name, reason + origin);
}

// ---------------------------------------------------------------------------------------------
// Portals: an array of tables, [[portal]], with [[portal.menu]] inside. Not in the key table:
// an entry is a group of keys, and --set cannot address one. Errors name "portal[N].field",
// N counting from 0 in the order of the file (the line is in the message too).

constexpr std::string_view portal_section = "portal";
constexpr std::size_t max_portals = 64;
constexpr std::size_t max_menu_items = 64;
constexpr std::array<std::string_view, 6> portal_keys{"id", "login_path", "language", "home", "menu", "manual_url"};
constexpr std::array<std::string_view, 2> menu_keys{"id", "url"};
// The portal's texts moved to the language catalogs ([portal.<id>] in templates/lang/*.toml).
constexpr std::array<std::string_view, 4> portal_text_keys{"name", "title", "address_link_text", "code_screen_note"};
// Paths nidan serves itself, whatever the portals are (/portal/<id>/... holds each portal's
// code, address and account pages).
constexpr std::array<std::string_view, 7> reserved_paths{
    "/static", "/api", "/auth", "/healthz", "/readyz", "/metrics", "/portal"};

template <std::size_t N>
std::string word_list(const std::array<std::string_view, N>& words) {
    std::string out;
    for (const auto word : words) {
        if (!out.empty()) out += ", ";
        out += word;
    }
    return out;
}

problem portal_id_problem(std::string_view text) {
    if (text.size() > 32) return "at most 32 characters";
    const bool ok = std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!ok) return "only lower-case letters a-z, digits 0-9 and '-' are allowed";
    return std::nullopt;
}

bool is_path_char(char c) {
    constexpr std::string_view extra = "-._~!$&'()*+,;=:@/";
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
}

problem login_path_problem(std::string_view text) {
    if (!text.starts_with('/')) return "it must start with '/'";
    if (!std::all_of(text.begin(), text.end(), is_path_char))
        return "only letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ / are allowed "
               "(no spaces, '?', '#' or '%')";
    if (text.find("//") != std::string_view::npos) return "empty segments ('//') are not allowed";
    std::string_view rest = text.substr(1);
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        if (segment == "." || segment == "..") return "'.' and '..' segments are not allowed";
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    for (const auto reserved : reserved_paths) {
        if (text == reserved ||
            (text.starts_with(reserved) && text[reserved.size()] == '/'))
            return "it is under " + std::string(reserved) + ", which nidan serves itself";
    }
    return std::nullopt;
}

// A link on a page: a path of this site or an https:// URL.
problem link_problem(std::string_view text) {
    if (text.starts_with("https://")) return url_problem(text);
    if (!text.starts_with('/')) return "it must start with '/' (this site) or https://";
    if (text.starts_with("//")) return "'//' leads to another site; write https:// for that";
    const bool clean = std::none_of(text.begin(), text.end(), [](char ch) {
        const auto byte = static_cast<unsigned char>(ch);
        return byte <= 0x20 || byte == 0x7f;
    });
    if (!clean) return "spaces and control characters must be percent-encoded";
    return std::nullopt;
}

// One [[portal]] or [[portal.menu]] table, with the name its errors use ("portal[1]").
struct entry_reader {
    const toml::table& table;
    std::string name;
    std::string origin;  // where the table starts

    template <std::size_t N>
    void refuse_unknown_keys(const std::array<std::string_view, N>& known) const {
        for (const auto& [key, node] : table) {
            const std::string_view k = key.str();
            if (std::find(known.begin(), known.end(), k) == known.end())
                throw config_error(name + "." + std::string(k),
                                   "unknown key; known are " + word_list(known) +
                                       origin_of(key.source()));
        }
    }

    // A line of text. Absent or empty is "" when optional; `what` and `check` (if given) say
    // what a non-empty value must be.
    std::string text(std::string_view key, bool required, std::string_view what = {},
                     text_check check = nullptr) const {
        const std::string full = name + "." + std::string(key);
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            if (required) throw config_error(full, "missing; every entry needs it" + origin);
            return {};
        }
        std::string expected;
        if (!what.empty()) {
            expected = "must be " + std::string(what);
        } else {
            expected = required ? "must be a non-empty line of text (a string)"
                                : "must be a line of text (a string, may be empty)";
        }
        const raw_value v{full, node, {}, origin_of(node->source())};
        std::string value = read_line_of_text(v, expected);
        if (value.empty()) {
            if (required) reject(v, expected);
            return value;
        }
        if (check != nullptr) {
            if (const problem why = check(value)) reject(v, expected, *why);
        }
        return value;
    }
};

std::vector<menu_item> read_menu(const toml::node& node, const std::string& name) {
    const std::string origin = origin_of(node.source());
    constexpr std::string_view expected =
        "must be a list of tables with id and url ([[portal.menu]] entries)";
    const auto* array = node.as_array();
    if (array == nullptr) throw config_error(name, std::string(expected) + origin);
    if (array->size() > max_menu_items)
        throw config_error(name, "at most " + std::to_string(max_menu_items) + " entries" + origin);
    std::vector<menu_item> out;
    for (const toml::node& element : *array) {
        const std::string item_name = name + "[" + std::to_string(out.size()) + "]";
        const auto* table = element.as_table();
        if (table == nullptr)
            throw config_error(item_name, std::string(expected) + origin_of(element.source()));
        const entry_reader item{*table, item_name, origin_of(element.source())};
        if (table->contains("label"))
            throw config_error(item_name + ".label", "menu labels are in the language catalogs now: give the entry an id "
                                                     "and set [portal.<portal id>.menu] <id> = \"...\" in "
                                                     "templates/lang/<language>.toml" + item.origin);
        item.refuse_unknown_keys(menu_keys);
        menu_item m;
        m.id = item.text("id", true, "1 to 32 characters of a-z, 0-9 and '-'", portal_id_problem);
        for (const auto& earlier : out)
            if (earlier.id == m.id) throw config_error(item_name + ".id", quote(m.id) + " is already an entry's id" + item.origin);
        m.url = item.text("url", true, "a path starting with '/' or an https:// URL",
                          link_problem);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<portal_config> read_portals(const toml::node& node, const std::string& origin) {
    const std::string section(portal_section);
    const auto* array = node.as_array();
    if (array == nullptr || !array->is_array_of_tables())
        throw config_error(section, "must be an array of tables: write [[portal]] (two brackets) "
                                    "above each portal's keys" + origin);
    if (array->empty()) throw config_error(section, "needs at least one [[portal]]" + origin);
    if (array->size() > max_portals)
        throw config_error(section, "at most " + std::to_string(max_portals) + " portals" + origin);
    std::vector<portal_config> out;
    for (const toml::node& element : *array) {
        const std::string name = section + "[" + std::to_string(out.size()) + "]";
        const entry_reader entry{*element.as_table(), name, origin_of(element.source())};
        for (const auto key : portal_text_keys)
            if (entry.table.contains(key))
                throw config_error(name + "." + std::string(key),
                                   "portal texts are in the language catalogs now: set [portal.<id>] " + std::string(key) +
                                       " in templates/lang/<language>.toml" + entry.origin);
        entry.refuse_unknown_keys(portal_keys);
        portal_config p;
        p.id = entry.text("id", true, "1 to 32 characters of a-z, 0-9 and '-'", portal_id_problem);
        p.login_path = entry.text("login_path", true, "a path starting with '/'",
                                  login_path_problem);
        p.language = entry.text("language", false, "a language tag such as ja or en", language_tag_problem);
        p.home = entry.text("home", true, "one of account, menu", [](std::string_view text) -> problem {
            if (text == "account" || text == "menu") return std::nullopt;
            return "neither account nor menu";
        });
        p.manual_url = entry.text("manual_url", false,
                                  "empty, a path starting with '/' or an https:// URL",
                                  link_problem);
        const toml::node* menu = entry.table.get("menu");
        if (menu != nullptr) p.menu = read_menu(*menu, name + ".menu");
        if (p.home == "menu" && p.menu.empty())
            throw config_error(name + ".menu",
                               "required when home = \"menu\": add [[portal.menu]] entries with "
                               "id and url" + entry.origin);
        if (p.home == "account" && !p.menu.empty())
            throw config_error(name + ".menu", "only shown when home = \"menu\"; remove it or "
                                               "set home = \"menu\"" +
                                                   origin_of(menu->source()));
        for (std::size_t i = 0; i < out.size(); ++i) {
            const std::string other = section + "[" + std::to_string(i) + "]";
            if (out[i].id == p.id)
                throw config_error(name + ".id", quote(p.id) + " is already the id of " + other +
                                                     entry.origin);
            if (out[i].login_path == p.login_path)
                throw config_error(name + ".login_path", quote(p.login_path) +
                                                             " is already the login_path of " +
                                                             other + entry.origin);
        }
        out.push_back(std::move(p));
    }
    return out;
}

void apply_file(config& c, const toml::table& root) {
    for (const auto& [section_key, section_node] : root) {
        const std::string section(section_key.str());
        const std::string origin = origin_of(section_key.source());
        if (section == portal_section) {
            c.portals = read_portals(section_node, origin);
            continue;
        }
        const auto* table = section_node.as_table();
        if (table == nullptr) {
            if (is_section(section))
                throw config_error(section, "must be a table ([" + section + "])" + origin);
            throw config_error(section, "unknown key; every key belongs to a [section]" +
                                            section_hint(section) + origin);
        }
        if (!is_section(section))
            throw config_error(section, "unknown section; sections are " + section_list() +
                                            origin);
        for (const auto& [key, node] : *table) {
            const std::string name = section + "." + std::string(key.str());
            const key_def* def = find_key(name);
            if (def == nullptr) unknown_key(name, origin_of(key.source()));
            def->set(c, raw_value{name, &node, {}, origin_of(node.source())});
        }
    }
}

void apply_override(config& c, const config_override& o) {
    if (o.key.starts_with("portal.") || o.key.starts_with("portal["))
        throw config_error(o.key, "portals are set only in the configuration file ([[portal]] "
                                  "tables), not with --set (in --set)");
    const key_def* def = find_key(o.key);
    if (def == nullptr) unknown_key(o.key, " (in --set)");
    def->set(c, raw_value{o.key, nullptr, o.value, " (in --set)"});
}

// Checks that involve more than one key; single values were checked when they were set.
void validate(const config& c) {
    if (c.session.idle_timeout > c.session.absolute_lifetime)
        throw config_error("session.idle_timeout_s",
                           "must not exceed session.absolute_lifetime_s (" +
                               std::to_string(c.session.idle_timeout.count()) + " > " +
                               std::to_string(c.session.absolute_lifetime.count()) +
                               "): the absolute limit would always end the session first");
    if (c.throttle.address_base_delay > c.throttle.address_max_delay)
        throw config_error("throttle.address_base_delay_ms", "must not exceed throttle.address_max_delay_ms");
    if (c.throttle.account_base_delay > c.throttle.account_max_delay)
        throw config_error("throttle.account_base_delay_ms", "must not exceed throttle.account_max_delay_ms");
    if (c.tls.enabled) {
        if (c.tls.cert_file.empty())
            throw config_error("tls.cert_file", "required when tls.enabled = true");
        if (c.tls.key_file.empty())
            throw config_error("tls.key_file", "required when tls.enabled = true");
    }
    if (!c.tls.enabled && !c.server.behind_tls && !c.server.allow_plain_http &&
        !is_loopback_host(c.server.listen.host))
        throw config_error("server.allow_plain_http",
                           "server.listen = " + c.server.listen.to_string() +
                               " is not a loopback address and serves plain HTTP: passwords "
                               "would cross the network in clear; set tls.enabled = true, or "
                               "server.behind_tls = true behind a TLS-terminating proxy, or "
                               "server.allow_plain_http = true to accept it");
    if (c.storage.backend == storage_backend::postgres && c.storage.postgres_url.empty())
        throw config_error("storage.postgres_url", "required when storage.backend = \"postgres\"");
    if (!c.storage.secret_file.empty()) {
        // Lexically, against the working directory: enough to catch "data/secret", which would
        // put the key back into every copy of the data folder.
        const auto data = std::filesystem::absolute(c.storage.data_dir).lexically_normal();
        const auto secret = std::filesystem::absolute(c.storage.secret_file).lexically_normal();
        const auto inside = secret.lexically_relative(data);
        if (!inside.empty() && *inside.begin() != "..")
            throw config_error("storage.secret_file",
                               c.storage.secret_file.string() + " is inside storage.data_dir (" +
                                   c.storage.data_dir.string() +
                                   "): a copy of the data folder would hold the key; put it elsewhere");
    }
    if (!c.smtp.username.empty()) {
        if (c.smtp.password_file.empty())
            throw config_error("smtp.password_file",
                               "required when smtp.username is set (AUTH needs the password)");
        if (c.smtp.tls == smtp_tls_mode::none && !c.smtp.allow_auth_without_tls)
            throw config_error("smtp.allow_auth_without_tls",
                               "AUTH would send the password in clear text; use smtp.tls = "
                               "starttls or tls, or set smtp.allow_auth_without_tls = true (only "
                               "for a relay on this machine or a trusted link)");
    }
}

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

std::string read_whole_file(const std::filesystem::path& file) {
    const auto fail = [&](int error) {
        return config_error("", "cannot read config file " + quote(file.string()) + ": " +
                                    std::strerror(error));
    };
    std::unique_ptr<std::FILE, file_closer> f(std::fopen(file.c_str(), "rb"));
    if (!f) throw fail(errno);
    std::string content;
    std::array<char, 8192> buffer{};
    std::size_t got = 0;
    while ((got = std::fread(buffer.data(), 1, buffer.size(), f.get())) > 0)
        content.append(buffer.data(), got);
    // A directory opens fine and only fails on read.
    if (std::ferror(f.get())) throw fail(errno);
    return content;
}

toml::table parse_file(const std::filesystem::path& file) {
    const std::string content = read_whole_file(file);
    try {
        return toml::parse(content, file.string());
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        throw config_error("", "syntax error in " + quote(file.string()) + " at line " +
                                   std::to_string(where.line) + ", column " +
                                   std::to_string(where.column) + ": " +
                                   std::string(e.description()));
    }
}

std::string trim(std::string_view s) { return std::string(trim_view(s)); }

}  // namespace

std::vector<portal_config> manual_portals() {
    // Their texts are the catalogs' [portal.<id>] tables (templates/lang/*.toml).
    return {
        portal_config{.id = "ip-phone", .login_path = "/selfcare/SelfcareLogin.in", .language = "", .home = "account",
                      .menu = {}, .manual_url = ""},
        portal_config{
            .id = "mc050",
            .login_path = "/mfes/users/login",
            .language = "",
            .home = "menu",
            // Placeholders: the services are separate applications whose addresses the
            // operator configures.
            .menu =
                {
                    {"add-number", "/mfes/services/add-number"},
                    {"mc050-register", "/mfes/services/mc050-register"},
                    {"mc050-cancel", "/mfes/services/mc050-cancel"},
                    {"master-table", "/mfes/services/master-table"},
                    {"group-limits", "/mfes/services/group-limits"},
                    {"call-blocking", "/mfes/services/call-blocking"},
                    {"upload-download", "/mfes/services/upload-download"},
                },
            .manual_url = "/mfes/manual.pdf",
        },
        portal_config{.id = "freevoice", .login_path = "/cgi-bin/fb_csc_sc_login.cgi.pl", .language = "", .home = "account",
                      .menu = {}, .manual_url = ""},
    };
}

std::string host_port::to_string() const {
    const std::string p = std::to_string(port);
    return host.find(':') != std::string::npos ? "[" + host + "]:" + p : host + ":" + p;
}

host_port parse_host_port(const std::string& key, const std::string& text) {
    parsed_host_port parsed;
    if (const problem why = split_host_port(text, parsed))
        throw config_error(key, std::string(host_port_expected) + ", got " + quote(text) + ": " +
                                    *why);
    return parsed.value;
}

config_override parse_override(const std::string& text) {
    const auto equals = text.find('=');
    const std::string key = trim(std::string_view(text).substr(0, equals));
    const std::string expected = "--set needs section.key=value, got " + quote(text);
    if (equals == std::string::npos || key.empty()) throw config_error(key, expected);
    const auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
        throw config_error(key, expected);
    return {key, trim(std::string_view(text).substr(equals + 1))};
}

config load_config(const std::filesystem::path& file,
                   const std::vector<config_override>& overrides) {
    config c;
    if (!file.empty()) apply_file(c, parse_file(file));
    for (const auto& o : overrides) apply_override(c, o);
    validate(c);
    return c;
}

}  // namespace nidan
