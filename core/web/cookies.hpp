#pragma once
// Cookie request headers (RFC 6265 section 5.4 form "a=1; b=2") and Set-Cookie values for
// nidan's own cookies: host-only, Path=/, HttpOnly, SameSite=Lax, Secure and the __Host- prefix
// when served over TLS.
#include <optional>
#include <string>
#include <string_view>

namespace nidan {

// The value of the first cookie called `name`; nullopt when absent. Malformed pairs are
// skipped, never fatal: a browser may hold cookies of other applications on the same host.
std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name);

struct cookie_options {
    bool secure = false;            // Secure and the __Host- prefix
    std::optional<long> max_age;    // seconds; nullopt: a session cookie; 0: delete it
};

// "name" becomes "__Host-name" when secure; the value must be a cookie-octet string
// (our values are base64url), otherwise std::invalid_argument.
std::string cookie_name(std::string_view name, bool secure);
std::string set_cookie_value(std::string_view name, std::string_view value, const cookie_options& options);

}  // namespace nidan
