#include "server/portal_routes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>

#include <chrono>
#include <ctime>

#include "core/account_rules.hpp"
#include "core/cookies.hpp"
#include "core/form_data.hpp"
#include "core/log.hpp"
#include "core/login_code.hpp"
#include "core/throttle.hpp"
#include "core/tokens.hpp"
#include "server/page_response.hpp"
#include "server/storage_bridge.hpp"
#include "storage/account_table.hpp"
#include "storage/code_table.hpp"
#include "storage/counter_table.hpp"
#include "storage/outbox.hpp"
#include "storage/schema.hpp"
#include "storage/session_table.hpp"

namespace nidan::server {
namespace {

// last_seen is written at most this often, so browsing does not cost a write per page.
constexpr std::int64_t touch_interval_s = 60;
constexpr std::int64_t login_form_lifetime_s = 2 * 3600;
constexpr std::string_view login_csrf_purpose = "login-csrf";
// A browser that completed a login on an account keeps a signed device cookie for it; failures
// from elsewhere do not slow that browser down (someone who knows the ID cannot lock the owner
// out).
constexpr std::string_view device_purpose = "device";
constexpr std::int64_t device_lifetime_s = 180 * 24 * 3600;

const char* const msg_bad_credentials = "セルフケアIDまたはセルフケアパスワードが正しくありません。";
const char* const msg_form_expired = "画面の有効期限が切れました。もう一度入力してください。";
const char* const msg_bad_form = "入力内容を読み取れませんでした。もう一度入力してください。";
const char* const msg_too_many_mails =
    "認証コードの送信回数が上限に達しました。しばらく時間をおいてから、もう一度ログインしてください。";
const char* const msg_wrong_code = "認証コードが正しくありません。もう一度入力してください。";
const char* const msg_code_format = "認証コードは半角数字で入力してください。";
const char* const msg_code_dead =
    "認証コードの入力回数が上限を超えました。もう一度セルフケアログインページからログインし直してください。";
const char* const msg_bad_address = "メールアドレスを正しく入力してください。";
const char* const msg_bad_phone = "連絡先電話番号を半角数字(ハイフン無し)で正しく入力してください。";
const char* const msg_wrong_phone = "入力された連絡先電話番号が、登録されている電話番号と一致しません。";
const char* const msg_unavailable = "ただいま混み合っています。しばらくしてから再度お試しください。";

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

enum class code_result { accepted, wrong, dead, expired };
enum class address_result { code_sent, wrong_phone, locked, rate_limited, no_account };


class portal_flow {
public:
    portal_flow(portal_services s, const portal_config& p, const error_pages& errors)
        : s_(std::move(s)), portal_(p), errors_(errors), base_("/portal/" + p.id) {}

    void add_routes(router& routes);

private:
    struct current_session {
        std::string hash;
        storage::session_record record;
    };

    awaitable<response> login_page(request_context& ctx);
    awaitable<response> login_submit(request_context& ctx);
    awaitable<response> code_page(request_context& ctx);
    awaitable<response> code_submit(request_context& ctx);
    awaitable<response> address_page(request_context& ctx);
    awaitable<response> address_submit(request_context& ctx);
    awaitable<response> home_page(request_context& ctx);
    awaitable<response> change_email(request_context& ctx);
    awaitable<response> change_password(request_context& ctx);
    response render_account(const request& req, http::status status, const current_session& session,
                            const std::string& notice, const std::string& error);
    std::optional<current_session> authenticated_post(const request& req, std::optional<form_data>& form, response& refusal);
    awaitable<response> logout(request_context& ctx);

    response render_login(const request& req, http::status status, const std::string& error, const std::string& id);
    response render_code(const request& req, http::status status, const current_session& session, const std::string& error);
    response render_address(const request& req, http::status status, const current_session& session,
                            const std::string& error, const std::string& email, const std::string& phone);
    response render_locked(const request& req);
    template_data page_data() const;

    std::optional<current_session> load_session(const request& req) const;
    std::string session_cookie(const std::string& id) const;
    std::string expired_session_cookie() const;
    bool secure() const { return s_.cfg.tls.enabled || s_.cfg.server.behind_tls; }
    static bool same_origin(const request& req);
    static bool is_form(const request& req);

    portal_services s_;
    const portal_config& portal_;
    const error_pages& errors_;
    std::string base_;
};

template_data portal_flow::page_data() const {
    template_data data;
    data.set("portal_title", portal_.title.empty() ? portal_.name : portal_.title);
    data.set("operator", s_.cfg.operator_info.name);
    data.set("mail_domain", s_.cfg.operator_info.mail_domain);
    data.set("support_phone", s_.cfg.operator_info.support_phone);
    data.set("support_hours", s_.cfg.operator_info.support_hours);
    data.set("enquiry_url", s_.cfg.operator_info.enquiry_url);
    data.set("login_url", portal_.login_path);
    return data;
}

bool portal_flow::same_origin(const request& req) {
    // Browsers send these on cross-site form posts; a request without them (an old browser, a
    // script) still needs the CSRF token.
    const auto site = req["Sec-Fetch-Site"];
    if (!site.empty() && site != "same-origin" && site != "none") return false;
    const auto origin = req[http::field::origin];
    if (origin.empty()) return true;
    const auto host = req[http::field::host];
    return origin == "http://" + std::string(host) || origin == "https://" + std::string(host);
}

bool portal_flow::is_form(const request& req) {
    const auto type = req[http::field::content_type];
    return beast::iequals(type.substr(0, type.find(';')), "application/x-www-form-urlencoded");
}

std::optional<portal_flow::current_session> portal_flow::load_session(const request& req) const {
    const auto cookie = find_cookie(req[http::field::cookie], cookie_name("nidan_session", secure()));
    if (!cookie || cookie->empty() || cookie->size() > 128) return std::nullopt;
    auto hash = sha256(*cookie);
    auto txn = s_.env.begin_read();
    auto record = storage::get_session(txn, hash, now_s());
    if (!record || record->portal != portal_.id) return std::nullopt;
    return current_session{std::move(hash), std::move(*record)};
}

std::string portal_flow::session_cookie(const std::string& id) const {
    return set_cookie_value("nidan_session", id, {secure(), std::nullopt});
}

std::string portal_flow::expired_session_cookie() const {
    return set_cookie_value("nidan_session", "x", {secure(), 0});
}

response portal_flow::render_login(const request& req, http::status status, const std::string& error, const std::string& id) {
    // A fresh signed token per form: the same value goes into a cookie and a hidden field
    // (double submit), so a cross-site form cannot log the victim into the attacker's account.
    const auto token = sign_token(s_.server_secret, login_csrf_purpose, random_token(16), now_s() + login_form_lifetime_s);
    auto data = page_data();
    data.set("action", portal_.login_path);
    data.set("csrf", token);
    data.set("selfcare_id", id);
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("login.html", data),
                     {set_cookie_value("nidan_login", token, {secure(), login_form_lifetime_s})});
}

response portal_flow::render_code(const request& req, http::status status, const current_session& session,
                                  const std::string& error) {
    auto data = page_data();
    data.set("action", base_ + "/code");
    data.set("csrf", session.record.csrf_secret);
    data.set("lifetime_minutes", std::to_string((s_.cfg.code.lifetime.count() + 59) / 60));
    data.set("address_link_text", portal_.address_link_text);
    data.set("address_url", base_ + "/address");
    if (!portal_.code_screen_note.empty()) data.set("code_screen_note", portal_.code_screen_note);
    {
        auto txn = s_.env.begin_read();
        if (auto code = storage::get_code_any(txn, portal_.id, session.record.selfcare_id))
            data.set("masked_email", log::mask_email(code->target_email));
    }
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("code.html", data));
}

awaitable<response> portal_flow::login_page(request_context& ctx) {
    co_return render_login(ctx.req, http::status::ok, "", "");
}

awaitable<response> portal_flow::login_submit(request_context& ctx) {
    const auto& req = ctx.req;
    const auto client = ctx.client.to_string();
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    if (!is_form(req)) co_return errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form) co_return render_login(req, http::status::bad_request, msg_bad_form, "");
    const std::string id(form->get("selfcare_id"));
    const std::string password(form->get("password"));
    const auto now = now_s();

    const auto csrf = form->get("csrf");
    const auto csrf_cookie = find_cookie(req[http::field::cookie], cookie_name("nidan_login", secure()));
    if (!csrf_cookie || !constant_time_equal(*csrf_cookie, csrf) ||
        !verify_token(s_.server_secret, login_csrf_purpose, csrf, now)) {
        log::audit("login.csrf_refused").add("portal", portal_.id).add("client", client);
        co_return render_login(req, http::status::forbidden, msg_form_expired, is_valid_utf8(id) ? id : "");
    }

    const bool well_formed = selfcare_id_problem(id).empty() && !password.empty() && password.size() <= password_config::max_length;
    const auto account_key = storage::account_key(portal_.id, well_formed ? id : std::string_view{});
    const auto device_cookie = find_cookie(req[http::field::cookie], cookie_name("nidan_device", secure()));
    const bool known_device = well_formed && device_cookie &&
                              verify_token(s_.server_secret, device_purpose, *device_cookie, now) == account_key;
    const auto address_window = window_start(per_address_throttle, now);
    const auto account_window = window_start(per_account_throttle, now);
    const auto hour_window = now - now % 3600;
    std::optional<account> found;
    std::chrono::milliseconds delay{0};
    std::uint32_t mails_this_hour = 0;
    {
        auto txn = s_.env.begin_read();
        if (well_formed) found = storage::get_account(txn, portal_.id, id);
        delay = std::max(delay_for(per_address_throttle, storage::get_counter(txn, "pw_addr", client, address_window, now)),
                         well_formed && !known_device
                             ? delay_for(per_account_throttle, storage::get_counter(txn, "pw_acct", account_key, account_window, now))
                             : std::chrono::milliseconds{0});
        if (found) mails_this_hour = storage::get_counter(txn, "mail_hour", account_key, hour_window, now);
    }
    if (delay.count() > 0) {
        net::steady_timer wait(co_await net::this_coro::executor, delay);
        co_await wait.async_wait(net::as_tuple(net::use_awaitable));
    }

    // Unknown IDs cost one hash too, so the answer's timing does not tell which IDs exist.
    const std::string stored_hash = found ? found->password_hash : std::string();
    const auto& hasher = s_.hasher;
    // The lambdas given to hash_pool::run capture by reference only: g++ 12 may destroy a
    // temporary of a co_await expression twice, which must find nothing to free.
    const auto verdict = co_await s_.hashes.run([&hasher, &stored_hash, &password] {
        if (stored_hash.empty()) {
            hasher.verify_dummy(password);
            return password_hasher::verdict::mismatch;
        }
        return hasher.verify(stored_hash, password);
    });

    if (verdict == password_hasher::verdict::mismatch) {
        const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
            storage::increment_counter(txn, "pw_addr", client, address_window, address_window + 2 * per_address_throttle.window.count());
            if (well_formed)
                storage::increment_counter(txn, "pw_acct", account_key, account_window, account_window + 2 * per_account_throttle.window.count());
        });
        if (ec) log::warn("login.counter_failed").add("error", ec.message());
        log::audit("login.failed").add("portal", portal_.id).add("id", is_valid_utf8(id) ? id : "(invalid)")
            .add("client", client).add("known_id", found.has_value()).add("delay_ms", static_cast<std::int64_t>(delay.count()));
        co_return render_login(req, http::status::unauthorized, msg_bad_credentials, is_valid_utf8(id) ? id : "");
    }

    auto acct = std::move(*found);
    if (!acct.email.empty() && mails_this_hour >= s_.cfg.code.mails_per_hour) {
        log::audit("code.rate_limited").add("portal", portal_.id).add("id", id).add("client", client);
        co_return render_login(req, http::status::too_many_requests, msg_too_many_mails, id);
    }
    std::string new_hash;
    if (verdict == password_hasher::verdict::match_needs_rehash)
        new_hash = co_await s_.hashes.run([&hasher, &password] { return hasher.hash(password); });

    const auto old_session = load_session(req);
    const auto session_id = random_token(32);
    const auto session_hash = sha256(session_id);
    storage::session_record session{portal_.id, id, storage::session_state::code_pending, now, now,
                                    now + s_.cfg.session.idle_timeout.count(), now + s_.cfg.session.absolute_lifetime.count(), random_token(32), ""};
    std::optional<storage::outbox_mail> mail;
    storage::code_record code_rec;
    if (!acct.email.empty()) {
        const auto code = generate_code(s_.cfg.code.length);
        const auto expires = now + s_.cfg.code.lifetime.count();
        code_rec = {code_mac(s_.server_secret, account_key, code), now, expires, s_.cfg.code.max_attempts, acct.email,
                    storage::code_purpose::login, session_hash};
        mail = s_.mailer.login_code({portal_.id, portal_.name, acct.email, code, now, expires});
    }
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        if (old_session) storage::erase_session(txn, old_session->hash);
        storage::put_session(txn, session_hash, session);
        storage::reset_counter(txn, "pw_acct", account_key, account_window);
        if (mail) {
            // A new code kills the earlier one: the codes table holds one per account.
            storage::put_code(txn, portal_.id, id, code_rec);
            storage::enqueue_mail(txn, std::move(*mail), now_ms());
            storage::increment_counter(txn, "mail_hour", account_key, hour_window, hour_window + 3600);
        }
        if (!new_hash.empty()) {
            acct.password_hash = new_hash;
            acct.updated_at = now;
            storage::put_account(txn, acct);
        }
    });
    if (ec) {
        log::error("login.store_failed").add("portal", portal_.id).add("error", ec.message());
        co_return render_login(req, http::status::service_unavailable, msg_unavailable, id);
    }
    if (mail) s_.mail_queued();
    log::audit("login.password_ok").add("portal", portal_.id).add("id", id).add("client", client)
        .add("rehashed", !new_hash.empty()).add("known_device", known_device)
        .add("delay_ms", static_cast<std::int64_t>(delay.count()));
    if (mail) log::audit("code.sent").add("portal", portal_.id).add("id", id).add("to", log::mask_email(acct.email));
    co_return see_other(req, acct.email.empty() ? base_ + "/address" : base_ + "/code", {session_cookie(session_id)});
}

awaitable<response> portal_flow::code_page(request_context& ctx) {
    // An authenticated session comes here to confirm a new address from the account page.
    auto session = load_session(ctx.req);
    if (!session) co_return see_other(ctx.req, portal_.login_path);
    co_return render_code(ctx.req, http::status::ok, *session, "");
}

awaitable<response> portal_flow::code_submit(request_context& ctx) {
    const auto& req = ctx.req;
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    if (!is_form(req)) co_return errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
    auto session = load_session(req);
    if (!session) co_return see_other(req, portal_.login_path);
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form) co_return render_code(req, http::status::bad_request, *session, msg_bad_form);
    if (!constant_time_equal(form->get("csrf"), session->record.csrf_secret)) {
        log::audit("code.csrf_refused").add("portal", portal_.id).add("client", ctx.client.to_string());
        co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    }
    const auto code = normalise_code_input(form->get("code"), s_.cfg.code.length);
    if (!code) co_return render_code(req, http::status::bad_request, *session, msg_code_format);

    const auto now = now_s();
    const auto& id = session->record.selfcare_id;
    const auto account_key = storage::account_key(portal_.id, id);
    const auto new_id = random_token(32);
    const auto new_hash = sha256(new_id);
    code_result result = code_result::expired;
    std::string old_address, new_address;
    // Decided inside the write transaction, so two concurrent guesses cannot both use the same
    // remaining attempt.
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        auto stored = storage::get_code_any(txn, portal_.id, id);
        if (!stored || stored->session_hash != session->hash) {
            result = code_result::expired;
            return;
        }
        if (stored->expires_at <= now) {
            storage::erase_code(txn, portal_.id, id);
            result = code_result::expired;
            return;
        }
        if (!code_matches(stored->mac, s_.server_secret, account_key, *code)) {
            if (--stored->attempts_left == 0) {
                // The customer must start again from the password: the half-way session goes too.
                storage::erase_code(txn, portal_.id, id);
                if (session->record.state == storage::session_state::code_pending) storage::erase_session(txn, session->hash);
                result = code_result::dead;
            } else {
                storage::put_code(txn, portal_.id, id, *stored);
                result = code_result::wrong;
            }
            return;
        }
        storage::erase_code(txn, portal_.id, id);
        if (stored->purpose == storage::code_purpose::address_change) {
            // The code reached the new address: only now does it become the registered one.
            if (auto acct = storage::get_account(txn, portal_.id, id)) {
                old_address = acct->email;
                new_address = stored->target_email;
                acct->email = stored->target_email;
                acct->updated_at = now;
                storage::put_account(txn, *acct);
                if (!old_address.empty() && old_address != new_address)
                    storage::enqueue_mail(txn, s_.mailer.address_notice(portal_.name, id, old_address, new_address, now), now_ms());
            }
        }
        // A new session id at the change of privilege (session fixation).
        storage::erase_session(txn, session->hash);
        auto record = session->record;
        record.state = storage::session_state::authenticated;
        record.last_seen = now;
        record.idle_expires_at = now + s_.cfg.session.idle_timeout.count();
        record.csrf_secret = random_token(32);
        storage::put_session(txn, new_hash, record);
        result = code_result::accepted;
    });
    if (ec) {
        log::error("code.store_failed").add("portal", portal_.id).add("error", ec.message());
        co_return render_code(req, http::status::service_unavailable, *session, msg_unavailable);
    }
    const auto client = ctx.client.to_string();
    switch (result) {
    case code_result::accepted:
        log::audit("code.verified").add("portal", portal_.id).add("id", id).add("client", client);
        if (!new_address.empty()) {
            log::audit("address.changed").add("portal", portal_.id).add("id", id).add("client", client)
                .add("old", log::mask_email(old_address)).add("new", log::mask_email(new_address));
            if (!old_address.empty() && old_address != new_address) s_.mail_queued();
        }
        co_return see_other(req, base_ + "/home",
                            {session_cookie(new_id),
                             set_cookie_value("nidan_device",
                                              sign_token(s_.server_secret, device_purpose, account_key, now + device_lifetime_s),
                                              {secure(), device_lifetime_s})});
    case code_result::wrong:
        log::audit("code.wrong").add("portal", portal_.id).add("id", id).add("client", client);
        co_return render_code(req, http::status::unauthorized, *session, msg_wrong_code);
    case code_result::dead:
        log::audit("code.dead").add("portal", portal_.id).add("id", id).add("client", client);
        co_return render_login(req, http::status::unauthorized, msg_code_dead, id);
    case code_result::expired:
        break;
    }
    log::audit("code.expired").add("portal", portal_.id).add("id", id).add("client", client);
    const auto minutes = std::to_string((s_.cfg.code.lifetime.count() + 59) / 60);
    co_return render_login(req, http::status::unauthorized,
                           "ログイン認証コードの有効期限(" + minutes +
                               "分)が過ぎました。もう一度ログインし直して、ログイン認証コードを再度入手してください。",
                           id);
}

response portal_flow::render_address(const request& req, http::status status, const current_session& session,
                                     const std::string& error, const std::string& email, const std::string& phone) {
    auto data = page_data();
    data.set("action", base_ + "/address");
    data.set("csrf", session.record.csrf_secret);
    data.set("email", email);
    data.set("phone", phone);
    data.set("back_url", base_ + "/code");
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("address.html", data));
}

response portal_flow::render_locked(const request& req) {
    return html_page(req, http::status::forbidden, s_.templates.render("locked.html", page_data()));
}

awaitable<response> portal_flow::address_page(request_context& ctx) {
    auto session = load_session(ctx.req);
    if (!session || session->record.state != storage::session_state::code_pending)
        co_return see_other(ctx.req, portal_.login_path);
    std::optional<account> acct;
    {
        auto txn = s_.env.begin_read();
        acct = storage::get_account(txn, portal_.id, session->record.selfcare_id);
    }
    if (acct && acct->address_form_locked) co_return render_locked(ctx.req);
    co_return render_address(ctx.req, http::status::ok, *session, "", "", "");
}

awaitable<response> portal_flow::address_submit(request_context& ctx) {
    const auto& req = ctx.req;
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    if (!is_form(req)) co_return errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
    auto session = load_session(req);
    if (!session || session->record.state != storage::session_state::code_pending) co_return see_other(req, portal_.login_path);
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form) co_return render_address(req, http::status::bad_request, *session, msg_bad_form, "", "");
    if (!constant_time_equal(form->get("csrf"), session->record.csrf_secret)) {
        log::audit("address.csrf_refused").add("portal", portal_.id).add("client", ctx.client.to_string());
        co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    }
    const std::string email(form->get("email"));
    const std::string phone_raw(form->get("phone"));
    // Nothing is stored for input that breaks the rules; the values are shown again to fix.
    if (email.empty() || !email_problem(email).empty())
        co_return render_address(req, http::status::bad_request, *session, msg_bad_address, email, phone_raw);
    const auto phone = normalise_phone(phone_raw);
    if (!phone) co_return render_address(req, http::status::bad_request, *session, msg_bad_phone, email, phone_raw);

    const auto now = now_s();
    const auto& id = session->record.selfcare_id;
    const auto account_key = storage::account_key(portal_.id, id);
    const auto hour_window = now - now % 3600;
    const auto code = generate_code(s_.cfg.code.length);
    const auto expires = now + s_.cfg.code.lifetime.count();
    auto mail = s_.mailer.login_code({portal_.id, portal_.name, email, code, now, expires});
    address_result result = address_result::no_account;
    std::uint32_t strikes = 0;
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        auto acct = storage::get_account(txn, portal_.id, id);
        if (!acct) return;
        if (acct->address_form_locked) {
            result = address_result::locked;
            return;
        }
        if (!constant_time_equal(*phone, acct->phone)) {
            strikes = ++acct->phone_strikes;
            if (strikes >= s_.cfg.address.phone_strikes) acct->address_form_locked = true;
            acct->updated_at = now;
            storage::put_account(txn, *acct);
            result = acct->address_form_locked ? address_result::locked : address_result::wrong_phone;
            return;
        }
        if (storage::get_counter(txn, "mail_hour", account_key, hour_window, now) >= s_.cfg.code.mails_per_hour) {
            result = address_result::rate_limited;
            return;
        }
        if (acct->phone_strikes != 0) {
            acct->phone_strikes = 0;
            storage::put_account(txn, *acct);
        }
        // The address changes only when this code is verified.
        storage::put_code(txn, portal_.id, id,
                          {code_mac(s_.server_secret, account_key, code), now, expires, s_.cfg.code.max_attempts, email,
                           storage::code_purpose::address_change, session->hash});
        storage::enqueue_mail(txn, std::move(mail), now_ms());
        storage::increment_counter(txn, "mail_hour", account_key, hour_window, hour_window + 3600);
        result = address_result::code_sent;
    });
    if (ec) {
        log::error("address.store_failed").add("portal", portal_.id).add("error", ec.message());
        co_return render_address(req, http::status::service_unavailable, *session, msg_unavailable, email, phone_raw);
    }
    const auto client = ctx.client.to_string();
    switch (result) {
    case address_result::code_sent:
        s_.mail_queued();
        log::audit("address.phone_ok").add("portal", portal_.id).add("id", id).add("client", client);
        log::audit("code.sent").add("portal", portal_.id).add("id", id).add("to", log::mask_email(email)).add("purpose", "address_change");
        co_return see_other(req, base_ + "/code");
    case address_result::wrong_phone:
        log::audit("address.phone_wrong").add("portal", portal_.id).add("id", id).add("client", client)
            .add("phone", log::mask_phone(*phone)).add("strikes", strikes);
        co_return render_address(req, http::status::unauthorized, *session, msg_wrong_phone, email, "");
    case address_result::locked:
        if (strikes >= s_.cfg.address.phone_strikes)
            log::audit("address.locked").add("portal", portal_.id).add("id", id).add("client", client).add("strikes", strikes);
        co_return render_locked(req);
    case address_result::rate_limited:
        log::audit("code.rate_limited").add("portal", portal_.id).add("id", id).add("client", client);
        co_return render_address(req, http::status::too_many_requests, *session, msg_too_many_mails, email, phone_raw);
    case address_result::no_account:
        break;
    }
    co_return see_other(req, portal_.login_path, {expired_session_cookie()});
}

awaitable<response> portal_flow::home_page(request_context& ctx) {
    auto session = load_session(ctx.req);
    if (!session || session->record.state != storage::session_state::authenticated)
        co_return see_other(ctx.req, portal_.login_path);
    const auto now = now_s();
    if (now - session->record.last_seen >= touch_interval_s) {
        auto record = session->record;
        record.last_seen = now;
        record.idle_expires_at = now + s_.cfg.session.idle_timeout.count();
        const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) { storage::put_session(txn, session->hash, record); });
        if (ec) log::warn("session.touch_failed").add("error", ec.message());
    }
    auto data = page_data();
    data.set("csrf", session->record.csrf_secret);
    data.set("logout_action", base_ + "/logout");
    data.set("selfcare_id", session->record.selfcare_id);
    if (portal_.home == "menu") {
        kainjow::mustache::data items{kainjow::mustache::data::type::list};
        for (const auto& item : portal_.menu) {
            template_data entry;
            entry.set("label", item.label);
            entry.set("url", item.url);
            items << entry;
        }
        data.set("menu", items);
        if (!portal_.manual_url.empty()) data.set("manual_url", portal_.manual_url);
        co_return html_page(ctx.req, http::status::ok, s_.templates.render("menu.html", data));
    }
    co_return render_account(ctx.req, http::status::ok, *session, "", "");
}

response portal_flow::render_account(const request& req, http::status status, const current_session& session,
                                     const std::string& notice, const std::string& error) {
    auto data = page_data();
    data.set("csrf", session.record.csrf_secret);
    data.set("logout_action", base_ + "/logout");
    data.set("selfcare_id", session.record.selfcare_id);
    std::optional<account> acct;
    {
        auto txn = s_.env.begin_read();
        acct = storage::get_account(txn, portal_.id, session.record.selfcare_id);
    }
    if (acct && !acct->email.empty()) data.set("masked_email", log::mask_email(acct->email));
    if (acct && !acct->phone.empty()) data.set("masked_phone", log::mask_phone(acct->phone));
    data.set("email_action", base_ + "/email");
    data.set("password_action", base_ + "/password");
    data.set("min_password", std::to_string(s_.cfg.password.min_length));
    if (!notice.empty()) data.set("notice", notice);
    if (!error.empty()) data.set("error", error);
    return html_page(req, status, s_.templates.render("account.html", data));
}

// The checks every form behind the login shares; on refusal `refusal` holds the answer.
std::optional<portal_flow::current_session> portal_flow::authenticated_post(const request& req, std::optional<form_data>& form,
                                                                            response& refusal) {
    if (!same_origin(req)) {
        refusal = errors_.make(http::status::forbidden, req.version(), req.keep_alive());
        return std::nullopt;
    }
    if (!is_form(req)) {
        refusal = errors_.make(http::status::unsupported_media_type, req.version(), req.keep_alive());
        return std::nullopt;
    }
    auto session = load_session(req);
    if (!session || session->record.state != storage::session_state::authenticated) {
        refusal = see_other(req, portal_.login_path);
        return std::nullopt;
    }
    std::string form_error;
    form = parse_form(req.body(), form_error);
    if (!form) {
        refusal = render_account(req, http::status::bad_request, *session, "", msg_bad_form);
        return std::nullopt;
    }
    if (!constant_time_equal(form->get("csrf"), session->record.csrf_secret)) {
        refusal = errors_.make(http::status::forbidden, req.version(), req.keep_alive());
        return std::nullopt;
    }
    return session;
}

awaitable<response> portal_flow::change_email(request_context& ctx) {
    const auto& req = ctx.req;
    std::optional<form_data> form;
    response refusal;
    auto session = authenticated_post(req, form, refusal);
    if (!session) co_return refusal;
    const std::string email(form->get("new_email"));
    if (email.empty() || !email_problem(email).empty())
        co_return render_account(req, http::status::bad_request, *session, "", msg_bad_address);
    const auto now = now_s();
    const auto& id = session->record.selfcare_id;
    const auto account_key = storage::account_key(portal_.id, id);
    const auto hour_window = now - now % 3600;
    const auto code = generate_code(s_.cfg.code.length);
    const auto expires = now + s_.cfg.code.lifetime.count();
    auto mail = s_.mailer.login_code({portal_.id, portal_.name, email, code, now, expires});
    bool rate_limited = false;
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        if (storage::get_counter(txn, "mail_hour", account_key, hour_window, now) >= s_.cfg.code.mails_per_hour) {
            rate_limited = true;
            return;
        }
        storage::put_code(txn, portal_.id, id,
                          {code_mac(s_.server_secret, account_key, code), now, expires, s_.cfg.code.max_attempts, email,
                           storage::code_purpose::address_change, session->hash});
        storage::enqueue_mail(txn, std::move(mail), now_ms());
        storage::increment_counter(txn, "mail_hour", account_key, hour_window, hour_window + 3600);
    });
    if (ec) co_return render_account(req, http::status::service_unavailable, *session, "", msg_unavailable);
    if (rate_limited) co_return render_account(req, http::status::too_many_requests, *session, "", msg_too_many_mails);
    s_.mail_queued();
    log::audit("code.sent").add("portal", portal_.id).add("id", id).add("to", log::mask_email(email)).add("purpose", "address_change");
    co_return see_other(req, base_ + "/code");
}

awaitable<response> portal_flow::change_password(request_context& ctx) {
    const auto& req = ctx.req;
    std::optional<form_data> form;
    response refusal;
    auto session = authenticated_post(req, form, refusal);
    if (!session) co_return refusal;
    const std::string current(form->get("current_password"));
    const std::string replacement(form->get("new_password"));
    if (!password_problem(replacement, s_.cfg.password.min_length, password_config::max_length).empty())
        co_return render_account(req, http::status::bad_request, *session, "",
                                 "新しいパスワードは" + std::to_string(s_.cfg.password.min_length) + "文字以上で入力してください。");
    const auto& id = session->record.selfcare_id;
    std::optional<account> acct;
    {
        auto txn = s_.env.begin_read();
        acct = storage::get_account(txn, portal_.id, id);
    }
    if (!acct) co_return see_other(req, portal_.login_path, {expired_session_cookie()});
    const auto& hasher = s_.hasher;
    const auto& stored_hash = acct->password_hash;
    const auto verdict = co_await s_.hashes.run([&hasher, &stored_hash, &current] { return hasher.verify(stored_hash, current); });
    if (verdict == password_hasher::verdict::mismatch) {
        log::audit("account.password_change_refused").add("portal", portal_.id).add("id", id).add("client", ctx.client.to_string());
        co_return render_account(req, http::status::unauthorized, *session, "", "現在のパスワードが正しくありません。");
    }
    const auto new_hash = co_await s_.hashes.run([&hasher, &replacement] { return hasher.hash(replacement); });
    const auto now = now_s();
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        auto latest = storage::get_account(txn, portal_.id, id);
        if (!latest) return;
        latest->password_hash = new_hash;
        latest->updated_at = now;
        storage::put_account(txn, *latest);
    });
    if (ec) co_return render_account(req, http::status::service_unavailable, *session, "", msg_unavailable);
    log::audit("account.password_changed").add("portal", portal_.id).add("id", id).add("client", ctx.client.to_string());
    co_return render_account(req, http::status::ok, *session, "パスワードを変更しました。", "");
}

awaitable<response> portal_flow::logout(request_context& ctx) {
    const auto& req = ctx.req;
    if (!same_origin(req)) co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    auto session = load_session(req);
    if (!session) co_return see_other(req, portal_.login_path, {expired_session_cookie()});
    std::string form_error;
    auto form = parse_form(req.body(), form_error);
    if (!form || !constant_time_equal(form->get("csrf"), session->record.csrf_secret))
        co_return errors_.make(http::status::forbidden, req.version(), req.keep_alive());
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) { storage::erase_session(txn, session->hash); });
    if (ec) co_return errors_.make(http::status::service_unavailable, req.version(), req.keep_alive());
    log::audit("logout").add("portal", portal_.id).add("id", session->record.selfcare_id).add("client", ctx.client.to_string());
    co_return see_other(req, portal_.login_path, {expired_session_cookie()});
}

void portal_flow::add_routes(router& routes) {
    auto bind = [this](awaitable<response> (portal_flow::*member)(request_context&)) {
        return [this, member](request_context& ctx) { return (this->*member)(ctx); };
    };
    routes.add(http::verb::get, portal_.login_path, bind(&portal_flow::login_page));
    routes.add(http::verb::post, portal_.login_path, bind(&portal_flow::login_submit));
    routes.add(http::verb::get, base_ + "/code", bind(&portal_flow::code_page));
    routes.add(http::verb::post, base_ + "/code", bind(&portal_flow::code_submit));
    routes.add(http::verb::get, base_ + "/address", bind(&portal_flow::address_page));
    routes.add(http::verb::post, base_ + "/address", bind(&portal_flow::address_submit));
    routes.add(http::verb::get, base_ + "/home", bind(&portal_flow::home_page));
    if (portal_.home == "account") {
        routes.add(http::verb::post, base_ + "/email", bind(&portal_flow::change_email));
        routes.add(http::verb::post, base_ + "/password", bind(&portal_flow::change_password));
    }
    routes.add(http::verb::post, base_ + "/logout", bind(&portal_flow::logout));
}

}  // namespace

struct portal_site::flows {
    std::vector<std::unique_ptr<portal_flow>> all;
};

portal_site::portal_site(app_state& app, portal_services services) : flows_(std::make_unique<flows>()) {
    for (const auto& portal : services.cfg.portals) {
        flows_->all.push_back(std::make_unique<portal_flow>(services, portal, app.errors));
        flows_->all.back()->add_routes(app.routes);
    }

    app.routes.add(http::verb::get, "/auth/verify", [services](request_context& ctx) -> awaitable<response> {
        response res{http::status::unauthorized, ctx.req.version()};
        add_page_headers(res);
        res.keep_alive(ctx.req.keep_alive());
        const auto cookie = find_cookie(ctx.req[http::field::cookie], cookie_name("nidan_session", services.cfg.tls.enabled || services.cfg.server.behind_tls));
        if (cookie && !cookie->empty() && cookie->size() <= 128) {
            std::optional<storage::session_record> record;
            {
                auto txn = services.env.begin_read();
                record = storage::get_session(txn, sha256(*cookie), now_s());
            }
            if (record && record->state == storage::session_state::authenticated) {
                res.result(http::status::ok);
                res.set("X-Nidan-Portal", record->portal);
                res.set("X-Nidan-Selfcare-Id", record->selfcare_id);
            }
        }
        res.prepare_payload();
        co_return res;
    });
}

portal_site::~portal_site() = default;

}  // namespace nidan::server
