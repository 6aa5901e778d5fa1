#pragma once
// The login steps of one portal, run for the HTML pages (portal_flow.hpp) and the JSON API
// (api_routes.cpp) alike, so both follow the same rules and count against the same counters.
// The rules themselves are core's (core/login/password_step.hpp, code_step, address_step,
// account_steps): this class only supplies what they leave to their caller - the clock, the
// waiting, Argon2id on the hash pool, and one storage-writer transaction per step - and wakes
// the mail delivery after a commit that queued a mail.
//
// The coroutines take their text as std::string_view: the caller's strings must outlive the
// co_await (they do: the caller awaits at once). Pass named objects, not temporaries that own
// memory (g++ 12 may destroy a temporary of a co_await expression twice: GCC bug 100611, see
// server/base/storage_bridge.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/login/account_steps.hpp"
#include "core/login/address_change.hpp"
#include "core/login/address_step.hpp"
#include "core/login/code_step.hpp"
#include "core/login/login_context.hpp"
#include "core/login/password_step.hpp"
#include "server/base/http_types.hpp"
#include "server/steps/portal_services.hpp"

namespace nidan::server {

using login::address_outcome;
using login::address_result;
using login::code_outcome;
using login::code_result;
using login::current_session;
using login::device_lifetime_s;
using login::email_change_outcome;
using login::email_change_result;
using login::password_change_outcome;
using login::password_change_result;
using login::password_outcome;
using login::password_result;

enum class logout_result { done, unavailable };

class login_steps {
public:
    login_steps(portal_services s, const portal_config& p)
        : s_(std::move(s)), context_{s_.cfg, p, s_.server_secret, s_.mailer} {}

    // The session of this portal with this id, unexpired; nullopt otherwise.
    awaitable<std::optional<current_session>> find_session(std::string_view id);

    // Step 1. device_token: the device cookie's value ("" when none); old_session_hash: the
    // caller's current session of this portal, ended by a successful login ("" when none).
    // language (here and below): the customer's, for the mails the step queues.
    awaitable<password_outcome> password_step(std::string_view id, std::string_view password, std::string_view client,
                                              std::string_view device_token, std::string_view old_session_hash,
                                              std::string_view language);
    // Step 2: the code (raw input; its format is checked here) for the session's pending code.
    awaitable<code_outcome> code_step(const current_session& session, std::string_view raw_code, std::string_view client);
    // The address form of a code_pending session.
    awaitable<address_outcome> address_step(const current_session& session, std::string_view email,
                                            std::string_view phone_raw, std::string_view client,
                                            std::string_view language);
    // The account page of an authenticated session.
    // A code to the new address, once the current password is right (checked like a login's).
    awaitable<email_change_outcome> email_change_step(const current_session& session, std::string_view email,
                                                     std::string_view current, std::string_view client,
                                                     std::string_view language);
    // A change ends the account's other sessions, codes and device tokens; this session stays.
    awaitable<password_change_outcome> password_change_step(const current_session& session, std::string_view current,
                                                            std::string_view replacement, std::string_view client);
    awaitable<logout_result> logout_step(const current_session& session, std::string_view client);
    // The registered address's link: cancels the address change, ends the sessions, locks the
    // address form. `token` is the link's.
    awaitable<login::address_cancel_result> address_cancel_step(std::string_view token, std::string_view client);
    // Whether `token` is a live cancel link of this portal (the confirmation page).
    bool cancel_link_valid(std::string_view token) const;
    awaitable<void> touch_step(const current_session& session);

    // Where the session's pending code went; nullopt when it has none.
    awaitable<std::optional<login::pending_code>> pending_code(const current_session& session);
    awaitable<login::address_lock> address_form_lock(const current_session& session);
    awaitable<bool> address_form_offered(const current_session& session);
    // The session's account as stored now (the account page shows it); nullopt once deleted.
    awaitable<std::optional<account>> account_of(const current_session& session);

private:
    // Runs step.write() in one transaction of the storage writer, deleting the shared gate's
    // `settled` entries in it (shared_attempt_gate::take_entries); its error, empty when committed.
    template <class Step>
    awaitable<std::error_code> commit(Step& step, std::vector<std::uint64_t>& settled);
    template <class Step>
    awaitable<std::error_code> commit(Step& step);
    // Runs `work` against a read of the records; a storage failure is thrown as
    // std::system_error (the dispatcher answers 503).
    template <class Work>
    awaitable<void> load(Work& work);
    void wake_delivery(bool mail_queued) const;
    // context_ with the customer's language, for a step that queues mail.
    login::context in_language(std::string_view language) const;
    // The throttle's turn of a password check: refused at once (step.refuse_busy() called), or
    // admitted (pass held by the caller until its write is done) and waited out, or the server
    // stopping meanwhile.
    enum class turn { go, refused, stopping };
    template <class Step>
    awaitable<turn> take_turn(Step& step, std::optional<shared_attempt_gate::pass>& pass);
    // Argon2id on the hash pool, then (when there is something to write) the step's write.
    awaitable<std::error_code> check_and_store(login::password_step& step, std::vector<std::uint64_t>& settled);
    // What a throttled check holds until its outcome is written (server/steps/shared_attempt_gate.hpp).
    struct check_holds {
        std::optional<shared_attempt_gate::hold> address;
        std::optional<shared_attempt_gate::hold> account;
        std::optional<shared_attempt_gate::pass> admitted;
    };
    // The account page's current password, read and throttled as a login's, then Argon2id: the
    // verdict goes into `check` (checked); not_checked when there is nothing to check (no account,
    // an empty or oversized password); refused by the throttle (check.refused() says why).
    enum class check_end { checked, not_checked, refused, stopping };
    awaitable<check_end> verify_current_password(login::current_password_check& check, check_holds& holds);

    portal_services s_;
    login::context context_;
};

}  // namespace nidan::server
