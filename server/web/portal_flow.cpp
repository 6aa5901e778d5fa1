#include "server/web/portal_flow.hpp"

#include "core/base/clock.hpp"
#include "core/web/cookies.hpp"
#include "core/base/tokens.hpp"
#include "server/web/language_switch.hpp"
#include "server/web/page_response.hpp"
#include "core/web/cookie_names.hpp"

namespace nidan::server {
namespace {

// Where the token goes in the prerendered login page: letters and dashes, which the template's
// escaping leaves as they are, and no text a page would hold.
constexpr std::string_view token_slot = "nidan-login-form-token-slot";

}  // namespace

portal_flow::portal_flow(portal_services s, const portal_config& p, const error_pages& errors)
    : s_(s), portal_(p), errors_(errors), base_("/portal/" + p.id), steps_(std::move(s), p) {
    prerender_login_pages();
}

void portal_flow::prerender_login_pages() {
    const request req{http::verb::get, portal_.login_path, 11};
    for (const auto& language : s_.templates.languages()) {
        const request_context ctx{req, portal_.login_path, {}, {}, language};
        const auto data = login_page_data(ctx, std::string(token_slot), {}, {});
        if (auto page = render::prerendered_page::split(s_.templates.render(language, "login.html", data), token_slot))
            first_login_pages_.emplace(language, std::move(*page));
    }
}

const std::string& portal_flow::message(const request_context& ctx, std::string_view key) const {
    return s_.templates.text(ctx.language, key);
}

response portal_flow::refuse(const request_context& ctx, http::status status) const {
    return errors_.make(status, ctx.req.version(), ctx.req.keep_alive(), {}, ctx.language);
}

template_data portal_flow::page_data(const request_context& ctx) const {
    const auto& language = ctx.language;
    const auto text = [&](const std::string& key) -> const std::string& { return s_.templates.text(language, key); };
    const std::string portal_key = "portal." + portal_.id + ".";
    template_data data;
    data.set("lang", language);
    // The switch: every other language, each link back to this very page.
    kainjow::mustache::data links{kainjow::mustache::data::type::list};
    for (const auto& other : s_.templates.languages()) {
        if (other == language) continue;
        template_data link;
        link.set("tag", other);
        link.set("name", s_.templates.text(other, "language.name"));
        link.set("url", language_switch_url(other, std::string_view(ctx.req.target().data(), ctx.req.target().size())));
        links << link;
    }
    data.set("has_languages", s_.templates.languages().size() > 1);
    data.set("languages", links);
    data.set("portal_title", text(portal_key + "title"));
    data.set("operator", text("operator.name"));
    data.set("mail_domain", s_.cfg.operator_info.mail_domain);
    data.set("support_phone", s_.cfg.operator_info.support_phone);
    data.set("support_hours", text("operator.support_hours"));
    data.set("enquiry_url", s_.cfg.operator_info.enquiry_url);
    data.set("login_url", portal_.login_path);
    return data;
}

awaitable<std::optional<current_session>> portal_flow::load_session(const request& req) {
    const auto cookie = find_cookie(req[http::field::cookie], cookie_name(cookie_names::session, secure()));
    if (!cookie) co_return std::nullopt;
    co_return co_await steps_.find_session(*cookie);
}

std::string portal_flow::session_cookie(const std::string& id) const {
    return set_cookie_value(cookie_names::session, id, {secure(), std::nullopt});
}

std::string portal_flow::expired_session_cookie() const {
    return set_cookie_value(cookie_names::session, "x", {secure(), 0});
}

std::string portal_flow::expired_device_cookie() const {
    return set_cookie_value(cookie_names::device, "x", {secure(), 0});
}

response portal_flow::render_login(const request_context& ctx, http::status status, const std::string& error,
                                   const std::string& id) {
    // A fresh signed token per form: the same value goes into a cookie and a hidden field
    // (double submit), so a cross-site form cannot log the victim into the attacker's account.
    auto [token, cookie] = fresh_form_token();
    if (status == http::status::ok && error.empty() && id.empty() && ctx.req.target() == portal_.login_path) {
        if (const auto page = first_login_pages_.find(ctx.language); page != first_login_pages_.end())
            return html_page(ctx.req, status, page->second.with(token), {cookie}, ctx.language);
    }
    const auto data = login_page_data(ctx, token, id, error);
    return html_page(ctx.req, status, s_.templates.render(ctx.language, "login.html", data), {cookie}, ctx.language);
}

// The one place that fills the login template, so the prerendered page cannot drift from it.
template_data portal_flow::login_page_data(const request_context& ctx, const std::string& token, const std::string& id,
                                          const std::string& error) const {
    auto data = page_data(ctx);
    data.set("action", portal_.login_path);
    data.set("csrf", token);
    data.set("selfcare_id", id);
    if (!error.empty()) data.set("error", error);
    return data;
}

std::pair<std::string, std::string> portal_flow::fresh_form_token() const {
    auto token = sign_token(s_.server_secret, login_csrf_purpose, random_token(16), unix_now() + login_form_lifetime_s);
    auto cookie = set_cookie_value(cookie_names::login_form, token, {secure(), login_form_lifetime_s});
    return {std::move(token), std::move(cookie)};
}

bool portal_flow::form_token_ok(const request& req, std::string_view field) const {
    const auto cookie = find_cookie(req[http::field::cookie], cookie_name(cookie_names::login_form, secure()));
    return cookie && constant_time_equal(*cookie, field) &&
           verify_token(s_.server_secret, login_csrf_purpose, field, unix_now()).has_value();
}

awaitable<response> portal_flow::render_code(const request_context& ctx, http::status status, const current_session& session,
                                             std::string_view error) {
    const auto& language = ctx.language;
    auto data = page_data(ctx);
    data.set("action", base_ + "/code");
    data.set("csrf", session.record.csrf_secret);
    data.set("lifetime_minutes", std::to_string((s_.cfg.code.lifetime.count() + 59) / 60));
    data.set("address_link_text", s_.templates.text(language, "portal." + portal_.id + ".address_link_text"));
    if (co_await steps_.address_form_offered(session)) data.set("address_url", base_ + "/address");
    if (const auto& note = s_.templates.text(language, "portal." + portal_.id + ".code_screen_note"); !note.empty())
        data.set("code_screen_note", note);
    if (const auto pending = co_await steps_.pending_code(session)) {
        data.set("masked_email", pending->masked_email);
        data.set("to_new_address", pending->to_new_address && !pending->held);
        data.set("to_held_address", pending->to_new_address && pending->held);
        data.set("hold_hours", std::to_string(s_.cfg.address_change.hold.count()));
    }
    if (!error.empty()) data.set("error", std::string(error));
    co_return html_page(ctx.req, status, s_.templates.render(language, "code.html", data), {}, language);
}

response portal_flow::render_address(const request_context& ctx, http::status status, const current_session& session,
                                     const std::string& error, const std::string& email, const std::string& phone) {
    auto data = page_data(ctx);
    data.set("action", base_ + "/address");
    data.set("csrf", session.record.csrf_secret);
    data.set("email", email);
    data.set("phone", phone);
    data.set("back_url", base_ + "/code");
    if (!error.empty()) data.set("error", error);
    return html_page(ctx.req, status, s_.templates.render(ctx.language, "address.html", data), {}, ctx.language);
}

response portal_flow::render_locked(const request_context& ctx, locked_form form) {
    auto data = page_data(ctx);
    data.set(form == locked_form::password            ? "password_locked"
             : form == locked_form::support           ? "support_locked"
             : form == locked_form::not_offered       ? "address_not_offered"
             : form == locked_form::address_cancelled ? "address_cancelled"
                                                      : "address_locked",
             true);
    data.set("phone_strikes", std::to_string(s_.cfg.address.phone_strikes));
    return html_page(ctx.req, http::status::forbidden, s_.templates.render(ctx.language, "locked.html", data), {},
                     ctx.language);
}

portal_flow::locked_form portal_flow::address_lock_of(login::address_lock lock) {
    return lock == login::address_lock::change_cancelled ? locked_form::address_cancelled : locked_form::address;
}

void portal_flow::add_routes(router& routes, const std::vector<route_row>& table) {
    using k = route_kind;
    auto bind = [this](awaitable<response> (portal_flow::*member)(request_context&)) -> handler {
        return [this, member](request_context& ctx) { return (this->*member)(ctx); };
    };
    for (const auto& row : table) {
        if (row.portal != portal_.id) continue;
        awaitable<response> (portal_flow::*member)(request_context&) = nullptr;
        switch (row.kind) {
        case k::login_page: member = &portal_flow::login_page; break;
        case k::login_submit: member = &portal_flow::login_submit; break;
        case k::code_page: member = &portal_flow::code_page; break;
        case k::code_submit: member = &portal_flow::code_submit; break;
        case k::address_page: member = &portal_flow::address_page; break;
        case k::address_submit: member = &portal_flow::address_submit; break;
        case k::home_page: member = &portal_flow::home_page; break;
        case k::change_email: member = &portal_flow::change_email; break;
        case k::change_password: member = &portal_flow::change_password; break;
        case k::logout: member = &portal_flow::logout; break;
        case k::cancel_page: member = &portal_flow::cancel_page; break;
        case k::cancel_submit: member = &portal_flow::cancel_submit; break;
        default: continue;  // the API's and the proxies' rows of this portal
        }
        routes.add(row, bind(member));
    }
}

}  // namespace nidan::server
