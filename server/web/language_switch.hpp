#pragma once
// The language switch on every page: a plain link (no JavaScript) to /lang/<tag>?next=<page>,
// which stores the choice in a cookie and sends the browser back to the page it came from, so
// the customer stays where they are in the flow.
#include <string>
#include <string_view>

#include "server/base/http_types.hpp"

namespace nidan::server {

inline constexpr std::string_view language_switch_prefix = "/lang/";
// A year: the choice is a preference, not a credential.
inline constexpr long language_cookie_lifetime_s = 365L * 24 * 3600;

// "/lang/en?next=%2Fportal%2Fip-phone%2Fcode": back to `target` (the page's own request target).
std::string language_switch_url(std::string_view tag, std::string_view target);

// GET /lang/<tag>: 303 to the request's next= page with the language cookie set. A next= that is
// not a path of this site (another site, "//host", control characters) sends to `fallback`
// instead: the switch must not be an open redirect.
response switch_language(const request& req, std::string_view tag, bool secure, const std::string& fallback);

}  // namespace nidan::server
