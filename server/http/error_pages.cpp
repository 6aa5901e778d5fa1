#include "server/http/error_pages.hpp"

namespace nidan::server {
namespace {

struct error_text {
    http::status status;
    const char* ja;
    const char* en;
    const char* code;  // the "error" member of the JSON form, as the API's own refusals name it
};

constexpr error_text texts[] = {
    {http::status::bad_request, "リクエストの形式が正しくありません。", "The request is malformed.", "bad_request"},
    {http::status::unauthorized, "ログインが必要です。", "Authentication is required.", "unauthenticated"},
    {http::status::forbidden, "このリクエストは許可されていません。", "This request is not allowed.", "forbidden"},
    {http::status::not_found, "お探しのページは見つかりませんでした。", "The page was not found.", "not_found"},
    {http::status::method_not_allowed, "このページはその方法では利用できません。",
     "This method is not allowed for this page.", "method_not_allowed"},
    {http::status::request_timeout, "リクエストの受信が時間内に完了しませんでした。",
     "The request was not received in time.", "request_timeout"},
    {http::status::payload_too_large, "送信されたデータが大きすぎます。", "The request body is too large.", "payload_too_large"},
    {http::status::unsupported_media_type, "送信形式に対応していません。", "The content type is not supported.", "unsupported_media_type"},
    {http::status::request_header_fields_too_large, "リクエストヘッダーが大きすぎます。",
     "The request header is too large.", "header_too_large"},
    {http::status::too_many_requests, "しばらく時間をおいてから再度お試しください。",
     "Too many requests; please retry later.", "too_many_requests"},
    {http::status::internal_server_error, "サーバーで問題が発生しました。", "An internal error occurred.", "internal_error"},
    {http::status::service_unavailable, "ただいまサービスをご利用いただけません。しばらくしてから再度お試しください。",
     "The service is temporarily unavailable; please retry later.", "unavailable"},
};

}  // namespace

error_pages::error_pages(const template_store& templates) {
    for (const auto& t : texts) {
        template_data data;
        data.set("status", std::to_string(static_cast<unsigned>(t.status)));
        data.set("reason", std::string(http::obsolete_reason(t.status)));
        data.set("message_ja", t.ja);
        data.set("message_en", t.en);
        bodies_.emplace(t.status, templates.render("error.html", data));
        json_bodies_.emplace(t.status, std::string("{\"error\":\"") + t.code + "\",\"message\":\"" + t.en + "\"}");
    }
}

response error_pages::make(http::status status, unsigned version, bool keep_alive, std::string_view target) const {
    response res{status, version};
    const bool json = target.starts_with(api_prefix);
    res.set(http::field::content_type, json ? "application/json" : "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    add_common_headers(res);
    const auto& bodies = json ? json_bodies_ : bodies_;
    auto it = bodies.find(status);
    res.body() = it != bodies.end() ? it->second : std::string(http::obsolete_reason(status));
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
