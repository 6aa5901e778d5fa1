#include "storage/login_store.hpp"

#include <algorithm>

#include "storage/account_table.hpp"
#include "storage/code_table.hpp"
#include "storage/counter_table.hpp"
#include "storage/outbox.hpp"
#include "storage/session_table.hpp"

namespace nidan::storage {

std::optional<account> login_reader::find_account(std::string_view portal, std::string_view id) const {
    return get_account(txn_, portal, id);
}

std::optional<session_record> login_reader::find_session(std::string_view hash, std::int64_t now) const {
    return get_session(txn_, hash, now);
}

std::optional<code_record> login_reader::find_code(std::string_view portal, std::string_view id) const {
    return get_code_any(txn_, portal, id);
}

std::uint32_t login_reader::count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                                  std::int64_t now) const {
    return get_counter(txn_, kind, subject, window_start, now);
}

bool login_reader::code_mail_failed_to(std::string_view address) const {
    // The failed list is the operator's to purge, and short in a working deployment; it is read
    // only for the address form when address_change.only_without_working_address is set.
    bool failed = false;
    for_each_failed(txn_, [&](const outbox_mail& mail) {
        failed = mail.kind == "login_code" && std::find(mail.rcpt_to.begin(), mail.rcpt_to.end(), address) != mail.rcpt_to.end();
        return !failed;
    });
    return failed;
}

void login_writer::save_account(const account& a) { put_account(txn_, a); }

void login_writer::save_session(std::string_view hash, const session_record& s) { put_session(txn_, hash, s); }

void login_writer::drop_session(std::string_view hash) { erase_session(txn_, hash); }

void login_writer::save_code(std::string_view portal, std::string_view id, const code_record& c) {
    put_code(txn_, portal, id, c);
}

void login_writer::drop_code(std::string_view portal, std::string_view id) { erase_code(txn_, portal, id); }

void login_writer::add_count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                             std::int64_t expires_at) {
    increment_counter(txn_, kind, subject, window_start, expires_at);
}

void login_writer::clear_count(std::string_view kind, std::string_view subject, std::int64_t window_start) {
    reset_counter(txn_, kind, subject, window_start);
}

void login_writer::queue_mail(outbox_mail mail, std::int64_t now_ms) { enqueue_mail(txn_, std::move(mail), now_ms); }

}  // namespace nidan::storage
