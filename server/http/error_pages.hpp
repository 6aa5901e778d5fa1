#pragma once
// The small pages for HTTP errors (400, 404, 405, 413, 431, 500, 503 ...), rendered once per
// language at startup from templates/error.html so answering an error costs no rendering.
#include <map>
#include <string>
#include <string_view>

#include "core/render/template_store.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

inline constexpr std::string_view api_prefix = "/api/";

class error_pages {
public:
    explicit error_pages(const template_store& templates);
    // A complete response; Allow, Retry-After and the like are added by the caller. A target
    // under api_prefix gets the JSON API's error form, {"error": "...", "message": "..."}, so a
    // script never has to parse HTML - also for refusals made before any route ran (413, 431).
    // The page is in `language` (a language of the templates, a request's is request_context's;
    // empty or unknown: the default).
    response make(http::status status, unsigned version, bool keep_alive, std::string_view target = {},
                  std::string_view language = {}) const;

private:
    std::string default_language_;
    std::map<std::string, std::map<http::status, std::string>, std::less<>> bodies_;  // by language
    std::map<http::status, std::string> json_bodies_;
};

// Only our own stylesheet and images load; forms post only to us; nothing may frame a page.
inline constexpr const char* content_security_policy =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// Headers every response carries, error pages included: a strict Content-Security-Policy,
// nosniff, framing denial, referrer policy.
void add_common_headers(response& res);

}  // namespace nidan::server
