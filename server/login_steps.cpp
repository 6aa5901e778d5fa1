#include "server/login_steps.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "core/account_rules.hpp"
#include "core/log.hpp"
#include "core/login_code.hpp"
#include "core/throttle.hpp"
#include "core/tokens.hpp"
#include "server/storage_bridge.hpp"
#include "storage/account_table.hpp"
#include "storage/code_table.hpp"
#include "storage/counter_table.hpp"
#include "storage/outbox.hpp"
#include "storage/schema.hpp"

namespace nidan::server {
namespace {

// last_seen is written at most this often, so browsing does not cost a write per page.
constexpr std::int64_t touch_interval_s = 60;

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<current_session> login_steps::find_session(std::string_view id) const {
    if (id.empty() || id.size() > 128) return std::nullopt;
    auto hash = sha256(id);
    auto txn = s_.env.begin_read();
    auto record = storage::get_session(txn, hash, now_s());
    if (!record || record->portal != portal_.id) return std::nullopt;
    return current_session{std::move(hash), std::move(*record)};
}

std::string login_steps::pending_code_address(const current_session& session) const {
    auto txn = s_.env.begin_read();
    if (auto code = storage::get_code_any(txn, portal_.id, session.record.selfcare_id))
        return log::mask_email(code->target_email);
    return {};
}

bool login_steps::address_form_locked(const current_session& session) const {
    auto txn = s_.env.begin_read();
    const auto acct = storage::get_account(txn, portal_.id, session.record.selfcare_id);
    return acct && acct->address_form_locked;
}

login_steps::code_issue login_steps::prepare_code(std::string_view id, const std::string& to, storage::code_purpose purpose,
                                                 const std::string& session_hash, std::int64_t now) const {
    const auto code = generate_code(s_.cfg.code.length);
    const auto expires = now + s_.cfg.code.lifetime.count();
    return {{code_mac(s_.server_secret, storage::account_key(portal_.id, id), code), now, expires, s_.cfg.code.max_attempts,
             to, purpose, session_hash},
            s_.mailer.login_code({portal_.id, portal_.name, to, code, now, expires})};
}

void login_steps::store_code(storage::write_txn& txn, std::string_view id, code_issue& issue, std::int64_t now) const {
    const auto hour_window = now - now % 3600;
    storage::put_code(txn, portal_.id, id, issue.record);
    storage::enqueue_mail(txn, std::move(issue.mail), now_ms());
    storage::increment_counter(txn, "mail_hour", storage::account_key(portal_.id, id), hour_window, hour_window + 3600);
}

bool login_steps::mail_quota_used(const storage::txn& txn, std::string_view id, std::int64_t now) const {
    return storage::get_counter(txn, "mail_hour", storage::account_key(portal_.id, id), now - now % 3600, now) >=
           s_.cfg.code.mails_per_hour;
}

awaitable<password_outcome> login_steps::password_step(std::string_view id_in, std::string_view password_in,
                                                       std::string_view client, std::string_view device_token,
                                                       std::string_view old_session_hash) {
    const std::string id(id_in);
    const std::string password(password_in);
    const auto now = now_s();
    password_outcome out;

    const bool well_formed = selfcare_id_problem(id).empty() && !password.empty() && password.size() <= password_config::max_length;
    const auto account_key = storage::account_key(portal_.id, well_formed ? id : std::string_view{});
    const bool known_device = well_formed && !device_token.empty() &&
                              verify_token(s_.server_secret, device_purpose, device_token, now) == account_key;
    const auto address_window = window_start(per_address_throttle, now);
    const auto account_window = window_start(per_account_throttle, now);
    std::optional<account> found;
    std::chrono::milliseconds delay{0};
    bool quota_used = false;
    {
        auto txn = s_.env.begin_read();
        if (well_formed) found = storage::get_account(txn, portal_.id, id);
        delay = std::max(delay_for(per_address_throttle, storage::get_counter(txn, "pw_addr", client, address_window, now)),
                         well_formed && !known_device
                             ? delay_for(per_account_throttle, storage::get_counter(txn, "pw_acct", account_key, account_window, now))
                             : std::chrono::milliseconds{0});
        if (found) quota_used = mail_quota_used(txn, id, now);
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
        out.result = password_result::invalid_credentials;
        co_return out;
    }

    auto acct = std::move(*found);
    if (!acct.email.empty() && quota_used) {
        log::audit("code.rate_limited").add("portal", portal_.id).add("id", id).add("client", client);
        out.result = password_result::too_many_codes;
        co_return out;
    }
    std::string new_hash;
    if (verdict == password_hasher::verdict::match_needs_rehash)
        new_hash = co_await s_.hashes.run([&hasher, &password] { return hasher.hash(password); });

    const std::string old_hash(old_session_hash);
    const auto session_id = random_token(32);
    const auto session_hash = sha256(session_id);
    storage::session_record session{portal_.id, id, storage::session_state::code_pending, now, now,
                                    now + s_.cfg.session.idle_timeout.count(), now + s_.cfg.session.absolute_lifetime.count(), random_token(32), ""};
    std::optional<code_issue> mail;
    if (!acct.email.empty()) mail = prepare_code(id, acct.email, storage::code_purpose::login, session_hash, now);
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        if (!old_hash.empty()) storage::erase_session(txn, old_hash);
        storage::put_session(txn, session_hash, session);
        storage::reset_counter(txn, "pw_acct", account_key, account_window);
        if (mail) store_code(txn, id, *mail, now);
        if (!new_hash.empty()) {
            acct.password_hash = new_hash;
            acct.updated_at = now;
            storage::put_account(txn, acct);
        }
    });
    if (ec) {
        log::error("login.store_failed").add("portal", portal_.id).add("error", ec.message());
        out.result = password_result::unavailable;
        co_return out;
    }
    if (mail) s_.mail_queued();
    log::audit("login.password_ok").add("portal", portal_.id).add("id", id).add("client", client)
        .add("rehashed", !new_hash.empty()).add("known_device", known_device)
        .add("delay_ms", static_cast<std::int64_t>(delay.count()));
    if (mail) log::audit("code.sent").add("portal", portal_.id).add("id", id).add("to", log::mask_email(acct.email));
    out.result = acct.email.empty() ? password_result::address_required : password_result::code_sent;
    out.session_id = session_id;
    if (!acct.email.empty()) out.masked_email = log::mask_email(acct.email);
    co_return out;
}

awaitable<code_outcome> login_steps::code_step(const current_session& session, std::string_view raw_code, std::string_view client) {
    code_outcome out;
    out.minutes = std::to_string((s_.cfg.code.lifetime.count() + 59) / 60);
    const auto code = normalise_code_input(raw_code, s_.cfg.code.length);
    if (!code) {
        out.result = code_result::bad_format;
        co_return out;
    }

    const auto now = now_s();
    const auto& id = session.record.selfcare_id;
    const auto account_key = storage::account_key(portal_.id, id);
    const auto new_id = random_token(32);
    const auto new_hash = sha256(new_id);
    code_result result = code_result::expired;
    std::uint32_t attempts_left = 0;
    std::string old_address, new_address;
    // Decided inside the write transaction, so two concurrent guesses cannot both use the same
    // remaining attempt.
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        auto stored = storage::get_code_any(txn, portal_.id, id);
        if (!stored || stored->session_hash != session.hash) {
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
                if (session.record.state == storage::session_state::code_pending) storage::erase_session(txn, session.hash);
                result = code_result::dead;
            } else {
                storage::put_code(txn, portal_.id, id, *stored);
                attempts_left = stored->attempts_left;
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
        storage::erase_session(txn, session.hash);
        auto record = session.record;
        record.state = storage::session_state::authenticated;
        record.last_seen = now;
        record.idle_expires_at = now + s_.cfg.session.idle_timeout.count();
        record.csrf_secret = random_token(32);
        storage::put_session(txn, new_hash, record);
        result = code_result::accepted;
    });
    if (ec) {
        log::error("code.store_failed").add("portal", portal_.id).add("error", ec.message());
        out.result = code_result::unavailable;
        co_return out;
    }
    out.result = result;
    switch (result) {
    case code_result::accepted:
        log::audit("code.verified").add("portal", portal_.id).add("id", id).add("client", client);
        if (!new_address.empty()) {
            log::audit("address.changed").add("portal", portal_.id).add("id", id).add("client", client)
                .add("old", log::mask_email(old_address)).add("new", log::mask_email(new_address));
            if (!old_address.empty() && old_address != new_address) s_.mail_queued();
        }
        out.session_id = new_id;
        out.device_token = sign_token(s_.server_secret, device_purpose, account_key, now + device_lifetime_s);
        break;
    case code_result::wrong:
        log::audit("code.wrong").add("portal", portal_.id).add("id", id).add("client", client);
        out.attempts_left = attempts_left;
        break;
    case code_result::dead:
        log::audit("code.dead").add("portal", portal_.id).add("id", id).add("client", client);
        break;
    case code_result::expired:
        log::audit("code.expired").add("portal", portal_.id).add("id", id).add("client", client);
        break;
    case code_result::bad_format:
    case code_result::unavailable:
        break;
    }
    co_return out;
}

awaitable<address_outcome> login_steps::address_step(const current_session& session, std::string_view email_in,
                                                     std::string_view phone_raw, std::string_view client) {
    address_outcome out;
    const std::string email(email_in);
    // Nothing is stored for input that breaks the rules.
    if (email.empty() || !email_problem(email).empty()) {
        out.result = address_result::bad_email;
        co_return out;
    }
    out.phone = normalise_phone(phone_raw);
    if (!out.phone) {
        out.result = address_result::bad_phone;
        co_return out;
    }
    const auto& phone = *out.phone;

    const auto now = now_s();
    const auto& id = session.record.selfcare_id;
    auto issue = prepare_code(id, email, storage::code_purpose::address_change, session.hash, now);
    address_result result = address_result::no_account;
    std::uint32_t strikes = 0;
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        auto acct = storage::get_account(txn, portal_.id, id);
        if (!acct) return;
        if (acct->address_form_locked) {
            result = address_result::locked;
            return;
        }
        if (!constant_time_equal(phone, acct->phone)) {
            strikes = ++acct->phone_strikes;
            if (strikes >= s_.cfg.address.phone_strikes) acct->address_form_locked = true;
            acct->updated_at = now;
            storage::put_account(txn, *acct);
            result = acct->address_form_locked ? address_result::locked : address_result::wrong_phone;
            return;
        }
        if (mail_quota_used(txn, id, now)) {
            result = address_result::rate_limited;
            return;
        }
        if (acct->phone_strikes != 0) {
            acct->phone_strikes = 0;
            storage::put_account(txn, *acct);
        }
        // The address changes only when this code is verified.
        store_code(txn, id, issue, now);
        result = address_result::code_sent;
    });
    if (ec) {
        log::error("address.store_failed").add("portal", portal_.id).add("error", ec.message());
        out.result = address_result::unavailable;
        co_return out;
    }
    out.result = result;
    out.strikes = strikes;
    switch (result) {
    case address_result::code_sent:
        s_.mail_queued();
        log::audit("address.phone_ok").add("portal", portal_.id).add("id", id).add("client", client);
        log::audit("code.sent").add("portal", portal_.id).add("id", id).add("to", log::mask_email(email)).add("purpose", "address_change");
        out.masked_email = log::mask_email(email);
        break;
    case address_result::wrong_phone:
        log::audit("address.phone_wrong").add("portal", portal_.id).add("id", id).add("client", client)
            .add("phone", log::mask_phone(phone)).add("strikes", strikes);
        break;
    case address_result::locked:
        if (strikes >= s_.cfg.address.phone_strikes)
            log::audit("address.locked").add("portal", portal_.id).add("id", id).add("client", client).add("strikes", strikes);
        break;
    case address_result::rate_limited:
        log::audit("code.rate_limited").add("portal", portal_.id).add("id", id).add("client", client);
        break;
    case address_result::no_account:
    case address_result::bad_email:
    case address_result::bad_phone:
    case address_result::unavailable:
        break;
    }
    co_return out;
}

awaitable<email_change_result> login_steps::email_change_step(const current_session& session, std::string_view email_in) {
    const std::string email(email_in);
    if (email.empty() || !email_problem(email).empty()) co_return email_change_result::bad_email;
    const auto now = now_s();
    const auto& id = session.record.selfcare_id;
    auto issue = prepare_code(id, email, storage::code_purpose::address_change, session.hash, now);
    bool rate_limited = false;
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) {
        rate_limited = mail_quota_used(txn, id, now);
        if (!rate_limited) store_code(txn, id, issue, now);
    });
    if (ec) co_return email_change_result::unavailable;
    if (rate_limited) co_return email_change_result::rate_limited;
    s_.mail_queued();
    log::audit("code.sent").add("portal", portal_.id).add("id", id).add("to", log::mask_email(email)).add("purpose", "address_change");
    co_return email_change_result::code_sent;
}

awaitable<password_change_result> login_steps::password_change_step(const current_session& session, std::string_view current_in,
                                                                    std::string_view replacement_in, std::string_view client) {
    const std::string current(current_in);
    const std::string replacement(replacement_in);
    if (!password_problem(replacement, s_.cfg.password.min_length, password_config::max_length).empty())
        co_return password_change_result::bad_password;
    const auto& id = session.record.selfcare_id;
    std::optional<account> acct;
    {
        auto txn = s_.env.begin_read();
        acct = storage::get_account(txn, portal_.id, id);
    }
    if (!acct) co_return password_change_result::no_account;
    const auto& hasher = s_.hasher;
    const auto& stored_hash = acct->password_hash;
    const auto verdict = co_await s_.hashes.run([&hasher, &stored_hash, &current] { return hasher.verify(stored_hash, current); });
    if (verdict == password_hasher::verdict::mismatch) {
        log::audit("account.password_change_refused").add("portal", portal_.id).add("id", id).add("client", client);
        co_return password_change_result::wrong_password;
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
    if (ec) co_return password_change_result::unavailable;
    log::audit("account.password_changed").add("portal", portal_.id).add("id", id).add("client", client);
    co_return password_change_result::changed;
}

awaitable<logout_result> login_steps::logout_step(const current_session& session, std::string_view client) {
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) { storage::erase_session(txn, session.hash); });
    if (ec) co_return logout_result::unavailable;
    log::audit("logout").add("portal", portal_.id).add("id", session.record.selfcare_id).add("client", client);
    co_return logout_result::done;
}

awaitable<void> login_steps::touch_step(const current_session& session) {
    const auto now = now_s();
    if (now - session.record.last_seen < touch_interval_s) co_return;
    auto record = session.record;
    record.last_seen = now;
    record.idle_expires_at = now + s_.cfg.session.idle_timeout.count();
    const auto ec = co_await write(s_.writer, [&](storage::write_txn& txn) { storage::put_session(txn, session.hash, record); });
    if (ec) log::warn("session.touch_failed").add("error", ec.message());
}

}  // namespace nidan::server
