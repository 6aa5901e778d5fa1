#include "server/steps/login_steps.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/base/clock.hpp"
#include "server/base/awaitables.hpp"
#include "server/base/storage_bridge.hpp"

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
        co_await wait.async_wait(use_tuple);
    }
    co_return !stopping;
}

// A queued attempt waits its turn in the address's line (core/security/attempt_gate.hpp), polled in short
// slices as pause() waits (longer ones where each look is a database write); false when the
// server stops first.
awaitable<bool> wait_served(shared_attempt_gate& gate, shared_attempt_gate::pass& pass, bool shared,
                            const std::atomic<bool>& stopping) {
    const std::chrono::milliseconds slice{shared ? 200 : 50};
    net::steady_timer wait(co_await net::this_coro::executor);
    while (!co_await gate.served(pass)) {
        if (stopping) co_return false;
        wait.expires_after(slice);
        co_await wait.async_wait(use_tuple);
    }
    co_return !stopping;
}

}  // namespace

template <class Step>
awaitable<login_steps::turn> login_steps::take_turn(Step& step, std::optional<shared_attempt_gate::pass>& pass) {
    const auto refuse = [this, &step](throttle_refusal why) {
        step.refuse_busy(why);
        s_.outcomes.count(why);
        return turn::refused;
    };
    if (step.over_budget()) co_return refuse(throttle_refusal::account_budget);
    if (step.delay().count() == 0) co_return turn::go;
    auto plan = step.plan();
    auto admission = co_await s_.gate.admit(plan);
    if (!admission.admitted) co_return refuse(admission.refused);
    pass.emplace(std::move(*admission.admitted));
    if (!co_await wait_served(s_.gate, *pass, s_.store.shared(), s_.stopping)) co_return turn::stopping;
    if (!co_await pause(step.delay(), s_.stopping)) co_return turn::stopping;
    co_return turn::go;
}

template <class Step>
awaitable<std::error_code> login_steps::commit(Step& step) {
    std::vector<std::uint64_t> none;
    co_return co_await commit(step, none);
}

template <class Step>
awaitable<std::error_code> login_steps::commit(Step& step, std::vector<std::uint64_t>& settled) {
    const auto ec = co_await write(s_.store, [&step, &settled](storage::record_store& records) {
        step.write(records);
        if (!settled.empty()) records.gate_release(settled);
    });
    if (ec) s_.gate.release(std::move(settled));
    co_return ec;
}

template <class Work>
awaitable<void> login_steps::load(Work& work) {
    if (const auto ec = co_await read(s_.store, [&work](const storage::record_view& records) { work(records); }))
        throw std::system_error(ec, "storage read");
}

void login_steps::wake_delivery(bool mail_queued) const {
    if (mail_queued) s_.mail_queued();
}

awaitable<std::optional<current_session>> login_steps::find_session(std::string_view id) {
    std::optional<current_session> found;
    auto work = [&](const login::record_reader& r) { found = login::find_session(context_, r, id, unix_now()); };
    co_await load(work);
    co_return found;
}

awaitable<std::optional<login::pending_code>> login_steps::pending_code(const current_session& session) {
    std::optional<login::pending_code> found;
    auto work = [&](const login::record_reader& r) { found = login::find_pending_code(context_, r, session); };
    co_await load(work);
    co_return found;
}

awaitable<std::optional<account>> login_steps::account_of(const current_session& session) {
    std::optional<account> acct;
    auto work = [&](const login::record_reader& r) { acct = r.find_account(context_.portal.id, session.record.selfcare_id); };
    co_await load(work);
    // A held address whose time has come is shown as the registered one.
    if (acct) login::settle_address_change(*acct, unix_now());
    co_return acct;
}

awaitable<bool> login_steps::address_form_offered(const current_session& session) {
    bool offered = false;
    auto work = [&](const login::record_reader& r) {
        offered = login::address_form_offered(context_, r, session, unix_now());
    };
    co_await load(work);
    co_return offered;
}

awaitable<login::address_lock> login_steps::address_form_lock(const current_session& session) {
    auto lock = login::address_lock::open;
    auto work = [&](const login::record_reader& r) { lock = login::address_form_lock(context_, r, session); };
    co_await load(work);
    co_return lock;
}

login::context login_steps::in_language(std::string_view language) const {
    auto c = context_;
    c.language = language;
    return c;
}

awaitable<password_outcome> login_steps::password_step(std::string_view id, std::string_view password,
                                                       std::string_view client, std::string_view device_token,
                                                       std::string_view old_session_hash, std::string_view language) {
    const scoped_timer timed(s_.durations.of(timed_step::password));
    const auto context = in_language(language);
    login::password_step step(context,
                              {std::string(id), std::string(password), std::string(client), std::string(device_token),
                               std::string(old_session_hash)},
                              unix_now());
    // Registered while they run, so parallel checks count as failures to come (before the read,
    // so that none committed meanwhile is missed).
    std::vector<std::string> subjects{step.address_key(), step.account_key()};
    login::checks_in_flight others;
    // Named std::functions: a temporary one in the co_await expression could be destroyed twice
    // by g++ 12 (see server/base/storage_bridge.hpp).
    const shared_attempt_gate::tracked_read first_read = [&](const login::record_reader& r,
                                                             const std::vector<std::uint32_t>& running) {
        others = {running[0], running[1], 0};
        step.read(r, others);
    };
    auto tracked = co_await s_.gate.track(subjects, first_read);
    if (auto holder = step.holder_key(); !holder.empty()) {
        // The owner's device: counted with the account's device holders, not with strangers.
        { auto gone = std::move(tracked[1]); }
        std::vector<std::string> holder_subject{std::move(holder)};
        const shared_attempt_gate::tracked_read recount = [&](const login::record_reader& r,
                                                              const std::vector<std::uint32_t>& running) {
            others.account = 0;
            others.holder = running[0];
            step.recount(r, others);
        };
        auto running = co_await s_.gate.track(holder_subject, recount);
        tracked.push_back(std::move(running[0]));
    }
    // Held until the failure (or the success) is written, so the next attempt reads its count.
    std::optional<shared_attempt_gate::pass> pass;
    std::error_code ec;
    switch (co_await take_turn(step, pass)) {
    case turn::go: {
        auto settled = s_.gate.take_entries(
            {&tracked[0], &tracked[1], tracked.size() > 2 ? &tracked[2] : nullptr},
            pass ? &*pass : nullptr);
        ec = co_await check_and_store(step, settled);
        break;
    }
    case turn::stopping:
        step.give_up();
        break;
    case turn::refused:
        break;
    }
    auto outcome = step.finish(ec);
    s_.outcomes.count(outcome.result);
    wake_delivery(outcome.mail_queued);
    co_return outcome;
}

awaitable<std::error_code> login_steps::check_and_store(login::password_step& step,
                                                        std::vector<std::uint64_t>& settled) {
    // The lambdas given to hash_pool::run capture by reference only: g++ 12 may destroy a
    // temporary of a co_await expression twice, which must find nothing to free (GCC bug 100611,
    // see server/base/storage_bridge.hpp).
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
    if (!step.verified(verdict)) {
        s_.gate.release(std::move(settled));
        co_return std::error_code{};
    }
    if (step.rehash_wanted()) {
        auto fresh = co_await s_.hashes.run([&hasher, &typed] { return hasher.hash(typed); });
        step.set_rehash(std::move(fresh));
    }
    co_return co_await commit(step, settled);
}

awaitable<code_outcome> login_steps::code_step(const current_session& session, std::string_view raw_code,
                                               std::string_view client) {
    const scoped_timer timed(s_.durations.of(timed_step::code));
    login::code_step step(context_, session, raw_code, std::string(client), unix_now());
    std::error_code ec;
    if (step.well_formed()) ec = co_await commit(step);
    auto outcome = step.finish(ec);
    s_.outcomes.count(outcome.result);
    wake_delivery(outcome.mail_queued);
    co_return outcome;
}

awaitable<address_outcome> login_steps::address_step(const current_session& session, std::string_view email,
                                                     std::string_view phone_raw, std::string_view client,
                                                     std::string_view language) {
    const scoped_timer timed(s_.durations.of(timed_step::address));
    const auto context = in_language(language);
    login::address_step step(context, session, std::string(email), phone_raw, std::string(client), unix_now());
    std::error_code ec;
    if (step.well_formed()) ec = co_await commit(step);
    auto outcome = step.finish(ec);
    s_.outcomes.count(outcome.result);
    wake_delivery(outcome.mail_queued);
    co_return outcome;
}

awaitable<login_steps::check_end> login_steps::verify_current_password(login::current_password_check& check,
                                                                        check_holds& holds) {
    // As the login's password step: registered in flight before the read, the gate's turn, the
    // delay, then Argon2id. The holds stay with the caller until the outcome is written.
    std::vector<std::string> subjects{check.address_key(), check.account_key()};
    const shared_attempt_gate::tracked_read first_read = [&check](const login::record_reader& r,
                                                                   const std::vector<std::uint32_t>& running) {
        check.read(r, login::checks_in_flight{running[0], running[1], 0});
    };
    auto tracked = co_await s_.gate.track(subjects, first_read);
    holds.address.emplace(std::move(tracked[0]));
    holds.account.emplace(std::move(tracked[1]));
    if (!check.needs_check()) co_return check_end::not_checked;
    switch (co_await take_turn(check, holds.admitted)) {
    case turn::go: break;
    case turn::refused: co_return check_end::refused;
    case turn::stopping: co_return check_end::stopping;
    }
    const auto& hasher = s_.hasher;
    const auto& stored_hash = check.stored_hash();
    const auto& typed = check.typed();
    const auto verdict = co_await s_.hashes.run([&hasher, &stored_hash, &typed] { return hasher.verify(stored_hash, typed); });
    check.verified(verdict);
    co_return check_end::checked;
}

awaitable<email_change_outcome> login_steps::email_change_step(const current_session& session, std::string_view email,
                                                              std::string_view current, std::string_view client,
                                                              std::string_view language) {
    const scoped_timer timed(s_.durations.of(timed_step::email_change));
    const auto context = in_language(language);
    login::email_change_step step(context, session, std::string(email), std::string(current), std::string(client),
                                  unix_now());
    std::error_code ec;
    check_holds holds;
    if (step.well_formed()) {
        switch (co_await verify_current_password(step.check(), holds)) {
        case check_end::checked: {
            // The code and the notice, or the failure's count.
            auto settled = s_.gate.take_entries({&*holds.address, &*holds.account},
                                                holds.admitted ? &*holds.admitted : nullptr);
            ec = co_await commit(step, settled);
            break;
        }
        case check_end::stopping: co_return email_change_outcome{email_change_result::unavailable, 0};
        case check_end::refused:
        case check_end::not_checked: break;
        }
    }
    const auto result = step.finish(ec);
    wake_delivery(result == email_change_result::code_sent);
    co_return email_change_outcome{result, result == email_change_result::busy ? step.check().retry_after_s() : 0};
}

awaitable<password_change_outcome> login_steps::password_change_step(const current_session& session,
                                                                     std::string_view current,
                                                                     std::string_view replacement,
                                                                     std::string_view client) {
    const scoped_timer timed(s_.durations.of(timed_step::password_change));
    login::password_change_step step(context_, session, std::string(current), std::string(replacement),
                                     std::string(client), unix_now());
    std::error_code ec;
    check_holds holds;
    if (step.acceptable()) {
        switch (co_await verify_current_password(step.check(), holds)) {
        case check_end::checked: {
            if (step.check().ok()) {
                const auto& hasher = s_.hasher;
                const auto& fresh_password = step.replacement();
                auto fresh = co_await s_.hashes.run([&hasher, &fresh_password] { return hasher.hash(fresh_password); });
                step.set_new_hash(std::move(fresh));
            }
            // The new hash, or the failure's count.
            auto settled = s_.gate.take_entries({&*holds.address, &*holds.account},
                                                holds.admitted ? &*holds.admitted : nullptr);
            ec = co_await commit(step, settled);
            break;
        }
        case check_end::stopping: co_return password_change_outcome{password_change_result::unavailable, {}, 0};
        case check_end::refused:
        case check_end::not_checked: break;
        }
    }
    const auto result = step.finish(ec);
    co_return password_change_outcome{result, result == password_change_result::changed ? step.device_token() : "",
                                      result == password_change_result::busy ? step.check().retry_after_s() : 0};
}

awaitable<login::address_cancel_result> login_steps::address_cancel_step(std::string_view token,
                                                                        std::string_view client) {
    const scoped_timer timed(s_.durations.of(timed_step::address_cancel));
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
    const scoped_timer timed(s_.durations.of(timed_step::logout));
    login::logout_step step(context_, session, std::string(client));
    const auto ec = co_await commit(step);
    co_return step.finish(ec) ? logout_result::done : logout_result::unavailable;
}

awaitable<void> login_steps::touch_step(const current_session& session) {
    login::touch_step step(context_, session, unix_now());
    if (!step.due()) co_return;
    // Only the touches that write: most requests of a session have none to make.
    const scoped_timer timed(s_.durations.of(timed_step::touch));
    const auto ec = co_await commit(step);
    step.finish(ec);
}

}  // namespace nidan::server
