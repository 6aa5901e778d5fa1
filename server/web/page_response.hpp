#pragma once
// Responses of the portal pages: HTML from templates/ with the headers every response carries
// (add_common_headers: CSP, no framing, no sniffing, same-origin referrers) plus no-store, and
// 303 redirects after a form POST.
#include <string>
#include <string_view>
#include <vector>

#include "core/render/template_store.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

// The common headers plus Cache-Control: no-store (authentication pages).
void add_page_headers(response& res);

// language: the page's, for Content-Language (empty: none).
response html_page(const request& req, http::status status, std::string body, const std::vector<std::string>& cookies = {},
                   std::string_view language = {});
response see_other(const request& req, const std::string& location, const std::vector<std::string>& cookies = {});

}  // namespace nidan::server
