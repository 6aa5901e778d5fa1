// The page behind the link in the notice that goes to the registered address when a code goes to
// a new one (core/login/address_change.hpp). GET only explains, since mail scanners and previews follow
// links; the button posts the link's token back.
#include "server/web/portal_flow.hpp"

#include "core/web/form_data.hpp"
#include "core/base/log.hpp"
#include "server/steps/step_outcomes.hpp"
#include "server/web/page_response.hpp"

namespace nidan::server {
namespace {

// The link's token from the query string ("t=..."); "" when there is none.
std::string token_in(const request& req) {
    const auto target = std::string_view(req.target());
    const auto query = target.find('?');
    if (query == std::string_view::npos) return {};
    std::string error;
    const auto form = parse_form(target.substr(query + 1), error);
    if (!form) log::info("address.cancel_link_unreadable").add("error", error);
    return form ? std::string(form->get("t")) : std::string();
}

}  // namespace

response portal_flow::render_cancel(const request_context& ctx, http::status status, std::string_view state,
                                    const std::string& token) {
    auto data = page_data(ctx);
    data.set(std::string(state), true);
    std::vector<std::string> cookies;
    if (state == "confirm") {
        auto [csrf, cookie] = fresh_form_token();
        data.set("csrf", csrf);
        data.set("token", token);
        data.set("action", base_ + "/address/cancel");
        cookies.push_back(std::move(cookie));
    }
    return html_page(ctx.req, status, s_.templates.render(ctx.language, "address_cancel.html", data), cookies, ctx.language);
}

awaitable<response> portal_flow::cancel_page(request_context& ctx) {
    const auto token = token_in(ctx.req);
    if (!steps_.cancel_link_valid(token)) co_return render_cancel(ctx, http::status::bad_request, "invalid", "");
    co_return render_cancel(ctx, http::status::ok, "confirm", token);
}

awaitable<response> portal_flow::cancel_submit(request_context& ctx) {
    const auto client = ctx.client.to_string();
    const auto checked = co_await check_form(ctx, form_kind::login_token);
    if (checked.refusal == form_refusal::bad_form) co_return render_cancel(ctx, http::status::bad_request, "invalid", "");
    if (checked.refusal != form_refusal::none && checked.refusal != form_refusal::bad_csrf)
        co_return refuse_form(ctx, checked.refusal);
    const std::string token(checked.form->get("t"));
    if (checked.refusal == form_refusal::bad_csrf) {
        // The link still works: the page is shown again with a fresh form.
        co_return render_cancel(ctx, http::status::forbidden, steps_.cancel_link_valid(token) ? "confirm" : "invalid", token);
    }
    // Status and section from the outcome table (server/steps/step_outcomes.hpp).
    const auto& row = outcome_of(co_await steps_.address_cancel_step(token, client));
    if (row.page_state.empty()) co_return refuse(ctx, row.status);
    co_return render_cancel(ctx, row.status, row.page_state, "");
}

}  // namespace nidan::server
