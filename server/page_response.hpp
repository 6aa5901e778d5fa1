#pragma once
// Responses of the portal pages: HTML from templates/ with the security headers every page
// carries (a strict Content-Security-Policy, no framing, no sniffing, same-origin referrers,
// no-store), and 303 redirects after a form POST.
#include <string>
#include <vector>

#include "core/template_store.hpp"
#include "server/http_types.hpp"

namespace nidan::server {

// Only our own stylesheet and images load; forms post only to us; nothing may frame the page.
inline constexpr const char* page_csp =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void add_page_headers(response& res);

response html_page(const request& req, http::status status, std::string body, const std::vector<std::string>& cookies = {});
response see_other(const request& req, const std::string& location, const std::vector<std::string>& cookies = {});

}  // namespace nidan::server
