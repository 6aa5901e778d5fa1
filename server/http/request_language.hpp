#pragma once
// Which of the templates' languages a request is answered in: the customer's choice (the
// language cookie, set by the switch on every page), else the browser's Accept-Language, else
// the portal's or the site's default (core/render/language_choice.hpp has the rules).
#include <string>
#include <string_view>
#include <vector>

#include "core/render/template_store.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

inline constexpr std::string_view language_cookie = "nidan_lang";

// One of `languages` (the default first); `fallback` when nothing else decides (empty or not
// one of them: the default).
std::string request_language(const request& req, const std::vector<std::string>& languages, std::string_view fallback,
                             bool secure);
inline std::string request_language(const request& req, const template_store& templates, std::string_view fallback,
                                    bool secure) {
    return request_language(req, templates.languages(), fallback, secure);
}

}  // namespace nidan::server
