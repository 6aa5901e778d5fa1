#pragma once
// Which of the templates' languages a request is answered in: the customer's choice (the
// language cookie, set by the switch on every page), else the browser's Accept-Language, else
// the portal's or the site's default (core/render/language_choice.hpp has the rules).
#include <string>
#include <string_view>

#include "core/render/template_store.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

inline constexpr std::string_view language_cookie = "nidan_lang";

// One of templates.languages(); `fallback` when nothing else decides (empty: the default).
std::string request_language(const request& req, const template_store& templates, std::string_view fallback,
                             bool secure);

}  // namespace nidan::server
