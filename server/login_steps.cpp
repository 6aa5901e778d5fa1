#include "server/login_steps.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/clock.hpp"
#include "server/storage_bridge.hpp"
#include "storage/login_store.hpp"

namespace nidan::server {
namespace {

// A throttling delay: the coroutine waits, the io thread serves others meanwhile. Waits in short
// slices so a stopping server does not hold its shutdown for a delayed guess: false then.
awaitable<bool> pause(std::chrono::milliseconds delay, const std::atomic<bool>& stopping) {
    constexpr std::chrono::milliseconds slice{100};
    const auto until = std::chrono::steady_clock::now() + delay;
    net::steady_timer wait(co_await net::this_coro::executor);
    while (std::chrono::steady_clock::now() < until) {
        if (stopping) co_return false;
        wait.expires_after(std::min<std::chrono::steady_clock::duration>(slice, until - std::chrono::steady_clock::now()));
        co_await wait.async_wait(net::as_tuple(net::use_awaitable));
    }
    co_return !stopping;
}

}  // namespace

template <class Step>
awaitable<std::error_code> login_steps::commit(Step& step) {
    co_return co_await write(s_.writer, [&step](storage::write_txn& txn) {
        storage::login_writer records(txn);
        step.write(records);
    });
}

void login_steps::wake_delivery(bool mail_queued) const {
    if (mail_queued) s_.mail_queued();
}

std::optional<current_session> login_steps::find_session(std::string_view id) const {
    auto txn = s_.env.begin_read();
    return login::find_session(context_, storage::login_reader(txn), id, unix_now());
}

std::optional<login::pending_code> login_steps::pending_code(const current_session& session) const {
    auto txn = s_.env.begin_read();
    return login::find_pending_code(context_, storage::login_reader(txn), session);
}

std::optional<account> login_steps::account_of(const current_session& session) const {
    auto txn = s_.env.begin_read();
    auto acct = storage::login_reader(txn).find_account(context_.portal.id, session.record.selfcare_id);
    // A held address whose time has come is shown as the registered one.
    if (acct) login::settle_address_change(*acct, unix_now());
    return acct;
}

bool login_steps::address_form_offered(const current_session& session) const {
    auto txn = s_.env.begin_read();
    return login::address_form_offered(context_, storage::login_reader(txn), session, unix_now());
}

bool login_steps::address_form_locked(const current_session& session) const {
    auto txn = s_.env.begin_read();
    return login::address_form_locked(context_, storage::login_reader(txn), session);
}

awaitable<password_outcome> login_steps::password_step(std::string_view id, std::string_view password,
                                                       std::string_view client, std::string_view device_token,
                                                       std::string_view old_session_hash) {
    login::password_step step(context_,
                              {std::string(id), std::string(password), std::string(client), std::string(device_token),
                               std::string(old_session_hash)},
                              unix_now());
    // Registered while it runs, so parallel checks of the account count as failures to come.
    std::optional<login::attempt_gate::hold> running;
    std::uint32_t other_checks = 0;
    if (!step.account_key().empty()) {
        auto [hold, others] = s_.gate.track(step.account_key());
        running.emplace(std::move(hold));
        other_checks = others;
    }
    {
        auto txn = s_.env.begin_read();
        step.read(storage::login_reader(txn), other_checks);
    }
    // Held until the failure (or the success) is written, so the next attempt reads its count.
    std::optional<login::attempt_gate::hold> pass;
    if (step.delay().count() > 0) pass = s_.gate.enter(step.delayed_subjects());
    std::error_code ec;
    if (step.delay().count() > 0 && !pass)
        step.refuse_busy();
    else if (!co_await pause(step.delay(), s_.stopping))
        step.give_up();
    else
        ec = co_await check_and_store(step);
    auto outcome = step.finish(ec);
    s_.outcomes.count(outcome.result);
    wake_delivery(outcome.mail_queued);
    co_return outcome;
}

awaitable<std::error_code> login_steps::check_and_store(login::password_step& step) {
    // The lambdas given to hash_pool::run capture by reference only: g++ 12 may destroy a
    // temporary of a co_await expression twice, which must find nothing to free.
    const auto& hasher = s_.hasher;
    const auto& stored_hash = step.stored_hash();
    const auto& typed = step.password();
    const auto verdict = co_await s_.hashes.run([&hasher, &stored_hash, &typed] {
        if (stored_hash.empty()) {
            // Unknown IDs cost one hash too, so the answer's timing does not tell which IDs exist.
            hasher.verify_dummy(typed);
            return password_hasher::verdict::mismatch;
        }
        return hasher.verify(stored_hash, typed);
    });
    if (!step.verified(verdict)) co_return std::error_code{};
    if (step.rehash_wanted()) {
        auto fresh = co_await s_.hashes.run([&hasher, &typed] { return hasher.hash(typed); });
        step.set_rehash(std::move(fresh));
    }
    co_return co_await commit(step);
}

awaitable<code_outcome> login_steps::code_step(const current_session& session, std::string_view raw_code,
                                               std::string_view client) {
    login::code_step step(context_, session, raw_code, std::string(client), unix_now());
    std::error_code ec;
    if (step.well_formed()) ec = co_await commit(step);
    auto outcome = step.finish(ec);
    s_.outcomes.count(outcome.result);
    wake_delivery(outcome.mail_queued);
    co_return outcome;
}

awaitable<address_outcome> login_steps::address_step(const current_session& session, std::string_view email,
                                                     std::string_view phone_raw, std::string_view client) {
    login::address_step step(context_, session, std::string(email), phone_raw, std::string(client), unix_now());
    std::error_code ec;
    if (step.well_formed()) ec = co_await commit(step);
    auto outcome = step.finish(ec);
    s_.outcomes.count(outcome.result);
    wake_delivery(outcome.mail_queued);
    co_return outcome;
}

awaitable<login_steps::check_end> login_steps::verify_current_password(login::current_password_check& check) {
    std::optional<login::attempt_gate::hold> pass;
    if (check.delay().count() > 0) {
        pass = s_.gate.enter(check.delayed_subjects());
        // Another guess of this account or address is waiting: this one is not checked.
        if (!pass) co_return check_end::busy;
    }
    if (!co_await pause(check.delay(), s_.stopping)) co_return check_end::stopping;
    const auto& hasher = s_.hasher;
    const auto& stored_hash = check.stored_hash();
    const auto& typed = check.typed();
    const auto verdict = co_await s_.hashes.run([&hasher, &stored_hash, &typed] { return hasher.verify(stored_hash, typed); });
    check.verified(verdict);
    co_return check_end::checked;
}

awaitable<email_change_result> login_steps::email_change_step(const current_session& session, std::string_view email,
                                                              std::string_view current, std::string_view client) {
    login::email_change_step step(context_, session, std::string(email), std::string(current), std::string(client),
                                  unix_now());
    std::error_code ec;
    if (step.well_formed()) {
        {
            auto txn = s_.env.begin_read();
            step.check().read(storage::login_reader(txn));
        }
        if (step.check().needs_check()) {
            switch (co_await verify_current_password(step.check())) {
            case check_end::busy: co_return email_change_result::busy;
            case check_end::stopping: co_return email_change_result::unavailable;
            case check_end::checked: break;
            }
            // The code and the notice, or the failure's count.
            ec = co_await commit(step);
        }
    }
    const auto result = step.finish(ec);
    wake_delivery(result == email_change_result::code_sent);
    co_return result;
}

awaitable<password_change_outcome> login_steps::password_change_step(const current_session& session,
                                                                     std::string_view current,
                                                                     std::string_view replacement,
                                                                     std::string_view client) {
    login::password_change_step step(context_, session, std::string(current), std::string(replacement),
                                     std::string(client), unix_now());
    std::error_code ec;
    if (step.acceptable()) {
        {
            auto txn = s_.env.begin_read();
            step.check().read(storage::login_reader(txn));
        }
        if (step.check().needs_check()) {
            switch (co_await verify_current_password(step.check())) {
            case check_end::busy: co_return password_change_outcome{password_change_result::busy, {}};
            case check_end::stopping: co_return password_change_outcome{password_change_result::unavailable, {}};
            case check_end::checked: break;
            }
            if (step.check().ok()) {
                const auto& hasher = s_.hasher;
                const auto& fresh_password = step.replacement();
                auto fresh = co_await s_.hashes.run([&hasher, &fresh_password] { return hasher.hash(fresh_password); });
                step.set_new_hash(std::move(fresh));
            }
            // The new hash, or the failure's count.
            ec = co_await commit(step);
        }
    }
    const auto result = step.finish(ec);
    co_return password_change_outcome{result, result == password_change_result::changed ? step.device_token() : ""};
}

awaitable<login::address_cancel_result> login_steps::address_cancel_step(std::string_view token,
                                                                        std::string_view client) {
    login::address_cancel_step step(context_, token, std::string(client), unix_now());
    std::error_code ec;
    if (step.valid()) ec = co_await commit(step);
    const auto result = step.finish(ec);
    s_.outcomes.count(result);
    co_return result;
}

bool login_steps::cancel_link_valid(std::string_view token) const {
    return login::address_cancel_step(context_, token, "", unix_now()).valid();
}

awaitable<logout_result> login_steps::logout_step(const current_session& session, std::string_view client) {
    login::logout_step step(context_, session, std::string(client));
    const auto ec = co_await commit(step);
    co_return step.finish(ec) ? logout_result::done : logout_result::unavailable;
}

awaitable<void> login_steps::touch_step(const current_session& session) {
    login::touch_step step(context_, session, unix_now());
    if (!step.due()) co_return;
    const auto ec = co_await commit(step);
    step.finish(ec);
}

}  // namespace nidan::server
