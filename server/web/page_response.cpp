#include "server/web/page_response.hpp"

#include "server/http/error_pages.hpp"

namespace nidan::server {

void add_page_headers(response& res) {
    add_common_headers(res);
    res.set(http::field::cache_control, "no-store");
}

response html_page(const request& req, http::status status, std::string body, const std::vector<std::string>& cookies,
                   std::string_view language) {
    response res{status, req.version()};
    add_page_headers(res);
    res.set(http::field::content_type, "text/html; charset=utf-8");
    if (!language.empty()) res.set(http::field::content_language, language);
    for (const auto& c : cookies) res.insert(http::field::set_cookie, c);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

response see_other(const request& req, const std::string& location, const std::vector<std::string>& cookies) {
    response res{http::status::see_other, req.version()};
    add_page_headers(res);
    res.set(http::field::location, location);
    for (const auto& c : cookies) res.insert(http::field::set_cookie, c);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
}

}  // namespace nidan::server
