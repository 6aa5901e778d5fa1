#include "server/http/error_pages.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace nidan::server {
namespace {

// The page's text is the catalogs' error.<status>; the JSON form keeps English, for scripts.
struct error_text {
    http::status status;
    const char* en;
    const char* code;  // the "error" member of the JSON form, as the API's own refusals name it
};

constexpr error_text texts[] = {
    {http::status::bad_request, "The request is malformed.", "bad_request"},
    {http::status::unauthorized, "Authentication is required.", "unauthenticated"},
    {http::status::forbidden, "This request is not allowed.", "forbidden"},
    {http::status::not_found, "The page was not found.", "not_found"},
    {http::status::method_not_allowed, "This method is not allowed for this page.", "method_not_allowed"},
    {http::status::request_timeout, "The request was not received in time.", "request_timeout"},
    {http::status::payload_too_large, "The request body is too large.", "payload_too_large"},
    {http::status::unsupported_media_type, "The content type is not supported.", "unsupported_media_type"},
    {http::status::request_header_fields_too_large, "The request header is too large.", "header_too_large"},
    {http::status::too_many_requests, "Too many requests; please retry later.", "too_many_requests"},
    {http::status::internal_server_error, "An internal error occurred.", "internal_error"},
    {http::status::service_unavailable, "The service is temporarily unavailable; please retry later.", "unavailable"},
};

}  // namespace

error_pages::error_pages(const template_store& templates) : default_language_(templates.default_language()) {
    for (const auto& t : texts) {
        const auto status = std::to_string(static_cast<unsigned>(t.status));
        for (const auto& language : templates.languages()) {
            template_data data;
            data.set("lang", language);
            data.set("status", status);
            data.set("reason", std::string(http::obsolete_reason(t.status)));
            data.set("message", templates.has_text(language, "error." + status) ? templates.text(language, "error." + status)
                                                                                 : std::string(t.en));
            bodies_[language].emplace(t.status, templates.render(language, "error.html", data));
        }
        json_bodies_.emplace(t.status, boost::json::serialize(boost::json::object{{"error", t.code}, {"message", t.en}}));
    }
}

response error_pages::make(http::status status, unsigned version, bool keep_alive, std::string_view target,
                           std::string_view language) const {
    response res{status, version};
    const bool json = target.starts_with(api_prefix);
    res.set(http::field::content_type, json ? "application/json" : "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    add_common_headers(res);
    auto pages = bodies_.find(language.empty() ? std::string_view(default_language_) : language);
    if (pages == bodies_.end()) pages = bodies_.find(default_language_);
    const auto& bodies = json ? json_bodies_ : pages->second;
    auto it = bodies.find(status);
    res.body() = it != bodies.end() ? it->second : std::string(http::obsolete_reason(status));
    if (!json) res.set(http::field::content_language, pages->first);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

void add_common_headers(response& res) {
    res.set(http::field::server, "nidan");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "same-origin");
    res.set("Content-Security-Policy", content_security_policy);
}

}  // namespace nidan::server
