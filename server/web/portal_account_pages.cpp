// The pages behind the login: home (account details or the service menu), the address and
// password changes, logout.
#include "server/web/portal_flow.hpp"

#include "core/base/clock.hpp"
#include "core/web/cookies.hpp"
#include "core/base/log.hpp"
#include "core/base/tokens.hpp"
#include "server/web/page_response.hpp"
#include "core/web/cookie_names.hpp"

namespace nidan::server {
namespace {

// The rule a refused new password broke: someone who typed a very long one must not be told it is
// too short. (Invalid UTF-8, the policy's third refusal, never gets here: the form reader refuses it.)
std::string new_password_rule(const template_store& templates, const std::string& language, std::string_view replacement,
                              std::size_t min_chars) {
    if (replacement.size() > password_config::max_length)
        return templates.text_with(language, "account.password_too_long",
                                   {{"max_bytes", std::to_string(password_config::max_length)}});
    return templates.text_with(language, "account.password_too_short", {{"min_chars", std::to_string(min_chars)}});
}

}  // namespace

awaitable<response> portal_flow::home_page(request_context& ctx) {
    auto session = co_await load_session(ctx.req);
    if (!session || session->record.state != session_state::authenticated)
        co_return see_other(ctx.req, portal_.login_path);
    co_await steps_.touch_step(*session);
    const auto& language = ctx.language;
    auto data = page_data(ctx);
    data.set("csrf", session->record.csrf_secret);
    data.set("logout_action", base_ + "/logout");
    data.set("selfcare_id", session->record.selfcare_id);
    if (portal_.home == "menu") {
        kainjow::mustache::data items{kainjow::mustache::data::type::list};
        for (const auto& item : portal_.menu) {
            template_data entry;
            entry.set("label", s_.templates.text(language, "portal." + portal_.id + ".menu." + item.id));
            entry.set("url", item.url);
            items << entry;
        }
        data.set("menu", items);
        if (!portal_.manual_url.empty()) data.set("manual_url", portal_.manual_url);
        co_return html_page(ctx.req, http::status::ok, s_.templates.render(language, "menu.html", data), {}, language);
    }
    co_return co_await render_account(ctx, http::status::ok, *session, "", "");
}

awaitable<response> portal_flow::render_account(const request_context& ctx, http::status status, const current_session& session,
                                                std::string_view notice, std::string_view error, std::string_view kept_email) {
    const auto& language = ctx.language;
    auto data = page_data(ctx);
    data.set("csrf", session.record.csrf_secret);
    data.set("logout_action", base_ + "/logout");
    data.set("selfcare_id", session.record.selfcare_id);
    const auto acct = co_await steps_.account_of(session);
    if (acct && !acct->email.empty()) data.set("masked_email", log::mask_email(acct->email));
    if (acct && !acct->pending_email.empty()) {
        data.set("pending_email", log::mask_email(acct->pending_email));
        data.set("pending_email_at", local_time_text(acct->pending_email_at, s_.templates.text(language, "format.datetime")));
    }
    if (acct && !acct->phone.empty()) data.set("masked_phone", log::mask_phone(acct->phone));
    data.set("email_action", base_ + "/email");
    data.set("password_action", base_ + "/password");
    data.set("min_password", std::to_string(s_.cfg.password.min_length));
    if (s_.cfg.address_change.hold.count() > 0) data.set("hold_hours", std::to_string(s_.cfg.address_change.hold.count()));
    if (!notice.empty()) data.set("notice", std::string(notice));
    if (!error.empty()) data.set("error", std::string(error));
    if (!kept_email.empty()) data.set("new_email", std::string(kept_email));
    co_return html_page(ctx.req, status, s_.templates.render(language, "account.html", data), {}, language);
}

awaitable<std::optional<checked_form>> portal_flow::account_form(request_context& ctx, response& refusal) {
    auto checked = co_await check_form(ctx, form_kind::signed_in);
    if (checked.refusal == form_refusal::bad_form) {
        refusal = co_await render_account(ctx, http::status::bad_request, *checked.session, "", message(ctx, msg_bad_form));
        co_return std::nullopt;
    }
    if (!checked.ok()) {
        refusal = refuse_form(ctx, checked.refusal);
        co_return std::nullopt;
    }
    co_return checked;
}

awaitable<response> portal_flow::change_email(request_context& ctx) {
    const auto& req = ctx.req;
    response refusal;
    const auto checked = co_await account_form(ctx, refusal);
    if (!checked) co_return refusal;
    const auto& session = checked->session;
    const auto& form = checked->form;
    const std::string email(form->get("new_email"));
    const std::string current(form->get("email_current_password"));
    const auto client = ctx.client.to_string();
    const auto outcome = co_await steps_.email_change_step(*session, email, current, client, ctx.language);
    switch (outcome.result) {
    case email_change_result::code_sent:
        co_return see_other(req, base_ + "/code");
    case email_change_result::bad_email:
        co_return co_await render_account(ctx, http::status::bad_request, *session, "", message(ctx, msg_bad_address), email);
    case email_change_result::wrong_password:
        co_return co_await render_account(ctx, http::status::unauthorized, *session, "", message(ctx, "account.wrong_current_password"), email);
    case email_change_result::busy:
    {
        // As the login page's 429: when to try again.
        auto res = co_await render_account(ctx, http::status::too_many_requests, *session, "", message(ctx, msg_try_later), email);
        res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(outcome.retry_after_s, 1)));
        co_return res;
    }
    case email_change_result::rate_limited:
        co_return co_await render_account(ctx, http::status::too_many_requests, *session, "", message(ctx, msg_too_many_mails), email);
    case email_change_result::unavailable:
        break;
    }
    co_return co_await render_account(ctx, http::status::service_unavailable, *session, "", message(ctx, msg_unavailable), email);
}

awaitable<response> portal_flow::change_password(request_context& ctx) {
    const auto& req = ctx.req;
    response refusal;
    const auto checked = co_await account_form(ctx, refusal);
    if (!checked) co_return refusal;
    const auto& session = checked->session;
    const auto& form = checked->form;
    const std::string current(form->get("current_password"));
    const std::string replacement(form->get("new_password"));
    const auto client = ctx.client.to_string();
    const auto outcome = co_await steps_.password_change_step(*session, current, replacement, client);
    switch (outcome.result) {
    case password_change_result::changed: {
        // The account's other sessions and device tokens ended with the change; this browser
        // keeps its session and gets a device token under the new credentials.
        auto res = co_await render_account(ctx, http::status::ok, *session, message(ctx, "account.password_changed"), "");
        res.insert(http::field::set_cookie, set_cookie_value(cookie_names::device, outcome.device_token, {secure(), device_lifetime_s}));
        co_return res;
    }
    case password_change_result::bad_password:
    {
        // Named: a temporary std::string inside the co_await expression is what g++ 12 may destroy twice (GCC bug
        // 100611, see server/base/storage_bridge.hpp).
        const auto rule = new_password_rule(s_.templates, ctx.language, replacement, s_.cfg.password.min_length);
        co_return co_await render_account(ctx, http::status::bad_request, *session, "", rule);
    }
    case password_change_result::wrong_password:
        co_return co_await render_account(ctx, http::status::unauthorized, *session, "", message(ctx, "account.wrong_current_password"));
    case password_change_result::no_account:
        co_return see_other(req, portal_.login_path, {expired_session_cookie()});
    case password_change_result::busy:
    {
        auto res = co_await render_account(ctx, http::status::too_many_requests, *session, "", message(ctx, msg_try_later));
        res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(outcome.retry_after_s, 1)));
        co_return res;
    }
    case password_change_result::unavailable:
        break;
    }
    co_return co_await render_account(ctx, http::status::service_unavailable, *session, "", message(ctx, msg_unavailable));
}

awaitable<response> portal_flow::logout(request_context& ctx) {
    const auto& req = ctx.req;
    auto checked = co_await check_form(ctx, form_kind::any_session);
    if (checked.refusal == form_refusal::no_session) co_return see_other(req, portal_.login_path, {expired_session_cookie()});
    if (!checked.ok()) co_return refuse_form(ctx, checked.refusal);  // an unreadable form too: 403
    const auto& session = checked.session;
    const auto& form = checked.form;
    const auto client = ctx.client.to_string();
    const auto result = co_await steps_.logout_step(*session, client);
    if (result == logout_result::unavailable) co_return refuse(ctx, http::status::service_unavailable);
    // On a shared computer the next user must not inherit the device cookie's exemption from
    // the account's throttling: the customer may ask to forget it.
    if (form->get("forget_device") == "1") {
        log::audit("logout.device_forgotten").add("portal", portal_.id).add("id", session->record.selfcare_id)
            .add("client", client);
        co_return see_other(req, portal_.login_path, {expired_session_cookie(), expired_device_cookie()});
    }
    co_return see_other(req, portal_.login_path, {expired_session_cookie()});
}

}  // namespace nidan::server
