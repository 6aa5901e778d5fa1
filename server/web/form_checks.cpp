// The checks every POST of the pages passes before its handler reads a field.
#include <boost/beast/core/string.hpp>

#include "core/base/log.hpp"
#include "core/base/tokens.hpp"
#include "server/web/page_response.hpp"
#include "server/web/portal_flow.hpp"

namespace nidan::server {
namespace {

const char* reason_name(form_refusal refusal) {
    switch (refusal) {
    case form_refusal::cross_site: return "cross_site";
    case form_refusal::not_a_form: return "not_a_form";
    case form_refusal::no_session: return "no_session";
    case form_refusal::bad_form: return "bad_form";
    case form_refusal::bad_csrf: return "csrf";
    case form_refusal::none: break;
    }
    return "none";
}

bool session_fits(form_kind kind, const current_session& session) {
    switch (kind) {
    case form_kind::pending_session: return session.record.state == session_state::code_pending;
    case form_kind::signed_in: return session.record.state == session_state::authenticated;
    case form_kind::any_session:
    case form_kind::login_token: break;
    }
    return true;
}

}  // namespace

bool portal_flow::same_origin(const request& req) const {
    // Browsers send these on cross-site form posts; a request without them (an old browser, a
    // script) still needs the CSRF token.
    const auto site = req["Sec-Fetch-Site"];
    if (!site.empty() && site != "same-origin" && site != "none") return false;
    const auto origin = req[http::field::origin];
    if (origin.empty()) return true;
    const auto host = req[http::field::host];
    if (origin == "https://" + std::string(host)) return true;
    // Over HTTPS an http:// origin is another site (RFC 6454): a network attacker can serve it.
    return !secure() && origin == "http://" + std::string(host);
}

bool portal_flow::is_form(const request& req) {
    const auto type = req[http::field::content_type];
    auto media = type.substr(0, type.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    return beast::iequals(media, "application/x-www-form-urlencoded");
}

awaitable<checked_form> portal_flow::check_form(request_context& ctx, form_kind kind) {
    const auto& req = ctx.req;
    checked_form out;
    std::string parse_error;
    auto refuse = [&](form_refusal why) {
        out.refusal = why;
        auto line = log::audit("form.refused");
        line.add("portal", portal_.id).add("route", ctx.path).add("reason", reason_name(why));
        if (!parse_error.empty()) line.add("error", parse_error);
        line.add("client", ctx.client.to_string());
    };
    if (!same_origin(req)) {
        refuse(form_refusal::cross_site);
        co_return out;
    }
    if (!is_form(req)) {
        refuse(form_refusal::not_a_form);
        co_return out;
    }
    if (kind != form_kind::login_token) {
        out.session = co_await load_session(req);
        if (!out.session || !session_fits(kind, *out.session)) {
            refuse(form_refusal::no_session);
            co_return out;
        }
    }
    out.form = parse_form(req.body(), parse_error);
    if (!out.form) {
        refuse(form_refusal::bad_form);
        co_return out;
    }
    const auto csrf = out.form->get("csrf");
    const bool csrf_ok = kind == form_kind::login_token ? form_token_ok(req, csrf)
                                                        : constant_time_equal(csrf, out.session->record.csrf_secret);
    if (!csrf_ok) refuse(form_refusal::bad_csrf);
    co_return out;
}

response portal_flow::refuse_form(const request_context& ctx, form_refusal refusal) const {
    switch (refusal) {
    case form_refusal::not_a_form:
        return refuse(ctx, http::status::unsupported_media_type);
    case form_refusal::no_session:
        return see_other(ctx.req, portal_.login_path);
    case form_refusal::cross_site:
    case form_refusal::bad_form:
    case form_refusal::bad_csrf:
    case form_refusal::none:
        break;
    }
    return refuse(ctx, http::status::forbidden);
}

}  // namespace nidan::server
