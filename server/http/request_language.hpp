#pragma once
// Which of the templates' languages a request is answered in: the customer's choice (the
// language cookie, set by the switch on every page), else the browser's Accept-Language, else
// the portal's or the site's default (core/render/language_choice.hpp has the rules).
#include <string>
#include <string_view>
#include <vector>

#include "server/base/http_types.hpp"

namespace nidan::server {

inline constexpr std::string_view language_cookie = "nidan_lang";

// One of `languages` (the default first); `fallback` when nothing else decides (empty or not
// one of them: the default). Dispatch calls it once per request, with the route's default; the
// handlers and pages read request_context::language.
std::string request_language(const request& req, const std::vector<std::string>& languages, std::string_view fallback,
                             bool secure);

}  // namespace nidan::server
