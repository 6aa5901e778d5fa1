// The login steps as pages: the login form, the code form and the address form.
#include "server/web/portal_flow.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/account/account_rules.hpp"
#include "core/base/text.hpp"
#include "core/base/clock.hpp"
#include "core/web/cookies.hpp"
#include "core/base/log.hpp"
#include "core/base/tokens.hpp"
#include "server/steps/step_outcomes.hpp"
#include "server/web/page_response.hpp"
#include "core/web/cookie_names.hpp"

namespace nidan::server {

awaitable<response> portal_flow::login_page(request_context& ctx) {
    co_return render_login(ctx, http::status::ok, "", "");
}

awaitable<response> portal_flow::login_submit(request_context& ctx) {
    const auto& req = ctx.req;
    const auto client = ctx.client.to_string();
    auto checked = co_await check_form(ctx, form_kind::login_token);
    if (checked.refusal == form_refusal::bad_form) co_return render_login(ctx, http::status::bad_request, message(ctx, msg_bad_form), "");
    if (checked.refusal != form_refusal::none && checked.refusal != form_refusal::bad_csrf)
        co_return refuse_form(ctx, checked.refusal);
    const auto& form = checked.form;
    const std::string id(form->get("selfcare_id"));
    const std::string password(form->get("password"));

    if (checked.refusal == form_refusal::bad_csrf)
        co_return render_login(ctx, http::status::forbidden, message(ctx, msg_form_expired), is_valid_utf8(id) ? id : "");

    const auto device_cookie = find_cookie(req[http::field::cookie], cookie_name(cookie_names::device, secure()));
    const std::string_view device_token = device_cookie ? *device_cookie : std::string_view{};
    const auto old_session = co_await load_session(req);
    const std::string_view old_session_hash = old_session ? std::string_view(old_session->hash) : std::string_view{};
    const auto outcome = co_await steps_.password_step(id, password, client, device_token, old_session_hash, ctx.language);
    // Status and message from the outcome table (server/steps/step_outcomes.hpp), as the API's.
    const auto& row = outcome_of(outcome.result);
    const auto shown_id = is_valid_utf8(id) ? id : std::string();
    switch (outcome.result) {
    case password_result::code_sent:
        co_return see_other(req, base_ + "/code", {session_cookie(outcome.session_id)});
    case password_result::address_required:
        co_return see_other(req, base_ + "/address", {session_cookie(outcome.session_id)});
    case password_result::invalid_credentials:
        co_return render_login(ctx, row.status, message(ctx, row.message_key), shown_id);
    case password_result::too_many_codes:
        co_return render_login(ctx, row.status, message(ctx, row.message_key), shown_id);
    case password_result::locked:
        co_return render_locked(ctx, outcome.locked_by_support ? locked_form::support : locked_form::password);
    case password_result::busy: {
        // As the API's 429: when to try again (the delay, or when the account's budget has room).
        auto res = render_login(ctx, row.status, message(ctx, row.message_key), shown_id);
        res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(outcome.retry_after_s, 1)));
        co_return res;
    }
    case password_result::unavailable:
        break;
    }
    co_return render_login(ctx, row.status, message(ctx, row.message_key), shown_id);
}

awaitable<response> portal_flow::code_page(request_context& ctx) {
    // An authenticated session comes here to confirm a new address from the account page.
    auto session = co_await load_session(ctx.req);
    if (!session) co_return see_other(ctx.req, portal_.login_path);
    co_return co_await render_code(ctx, http::status::ok, *session, "");
}

awaitable<response> portal_flow::code_submit(request_context& ctx) {
    const auto& req = ctx.req;
    auto checked = co_await check_form(ctx, form_kind::any_session);
    if (checked.refusal == form_refusal::bad_form)
        co_return co_await render_code(ctx, http::status::bad_request, *checked.session, message(ctx, msg_bad_form));
    if (!checked.ok()) co_return refuse_form(ctx, checked.refusal);
    const auto& session = checked.session;
    const auto& form = checked.form;
    const auto raw_code = form->get("code");
    const auto client = ctx.client.to_string();
    const auto outcome = co_await steps_.code_step(*session, raw_code, client);
    const auto& row = outcome_of(outcome.result);
    const auto& id = session->record.selfcare_id;
    switch (outcome.result) {
    case code_result::accepted:
        co_return see_other(req, base_ + "/home",
                            {session_cookie(outcome.session_id),
                             set_cookie_value(cookie_names::device, outcome.device_token, {secure(), device_lifetime_s})});
    case code_result::wrong:
        co_return co_await render_code(ctx, row.status, *session, message(ctx, row.message_key));
    case code_result::dead:
        co_return render_login(ctx, row.status, message(ctx, row.message_key), id);
    case code_result::bad_format:
        co_return co_await render_code(ctx, row.status, *session, message(ctx, row.message_key));
    case code_result::unavailable:
        co_return co_await render_code(ctx, row.status, *session, message(ctx, row.message_key));
    case code_result::expired:
        break;
    }
    const auto expired = s_.templates.text_with(ctx.language, row.message_key, {{"minutes", outcome.minutes}});
    co_return render_login(ctx, row.status, expired, id);
}

awaitable<response> portal_flow::address_page(request_context& ctx) {
    auto session = co_await load_session(ctx.req);
    if (!session || session->record.state != session_state::code_pending)
        co_return see_other(ctx.req, portal_.login_path);
    if (const auto lock = co_await steps_.address_form_lock(*session); lock != login::address_lock::open)
        co_return render_locked(ctx, address_lock_of(lock));
    if (!co_await steps_.address_form_offered(*session)) co_return render_locked(ctx, locked_form::not_offered);
    co_return render_address(ctx, http::status::ok, *session, "", "", "");
}

awaitable<response> portal_flow::address_submit(request_context& ctx) {
    const auto& req = ctx.req;
    auto checked = co_await check_form(ctx, form_kind::pending_session);
    if (checked.refusal == form_refusal::bad_form)
        co_return render_address(ctx, http::status::bad_request, *checked.session, message(ctx, msg_bad_form), "", "");
    if (!checked.ok()) co_return refuse_form(ctx, checked.refusal);
    const auto& session = checked.session;
    const auto& form = checked.form;
    const std::string email(form->get("email"));
    const std::string phone_raw(form->get("phone"));
    // Nothing is stored for input that breaks the rules; the values are shown again to fix.
    const auto client = ctx.client.to_string();
    const auto outcome = co_await steps_.address_step(*session, email, phone_raw, client, ctx.language);
    const auto& row = outcome_of(outcome.result);
    switch (outcome.result) {
    case address_result::code_sent:
        co_return see_other(req, base_ + "/code");
    case address_result::bad_email:
        co_return render_address(ctx, row.status, *session, message(ctx, row.message_key), email, phone_raw);
    case address_result::bad_phone:
        co_return render_address(ctx, row.status, *session, message(ctx, row.message_key), email, phone_raw);
    case address_result::wrong_phone:
        co_return render_address(ctx, row.status, *session, message(ctx, row.message_key), email, "");
    case address_result::locked:
        co_return render_locked(ctx, address_lock_of(co_await steps_.address_form_lock(*session)));
    case address_result::not_offered:
        co_return render_locked(ctx, locked_form::not_offered);
    case address_result::rate_limited:
        co_return render_address(ctx, row.status, *session, message(ctx, row.message_key), email, phone_raw);
    case address_result::unavailable:
        co_return render_address(ctx, row.status, *session, message(ctx, row.message_key), email, phone_raw);
    case address_result::no_account:
        break;
    }
    co_return see_other(req, portal_.login_path, {expired_session_cookie()});
}

}  // namespace nidan::server
