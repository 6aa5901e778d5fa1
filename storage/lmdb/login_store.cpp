#include "storage/lmdb/login_store.hpp"

#include <algorithm>

#include "storage/lmdb/account_table.hpp"
#include "storage/lmdb/code_table.hpp"
#include "storage/lmdb/counter_table.hpp"
#include "storage/lmdb/expiry.hpp"
#include "storage/lmdb/outbox.hpp"
#include "storage/lmdb/secret.hpp"
#include "storage/lmdb/session_table.hpp"

namespace nidan::storage {

template <class Base>
std::optional<account> lmdb_reads<Base>::find_account(std::string_view portal, std::string_view id) const {
    return get_account(txn_, portal, id);
}

template <class Base>
std::optional<session_record> lmdb_reads<Base>::find_session(std::string_view hash, std::int64_t now) const {
    return get_session(txn_, hash, now);
}

template <class Base>
std::optional<code_record> lmdb_reads<Base>::find_code(std::string_view portal, std::string_view id) const {
    return get_code_any(txn_, portal, id);
}

template <class Base>
std::uint32_t lmdb_reads<Base>::count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                                  std::int64_t now) const {
    return get_counter(txn_, kind, subject, window_start, now);
}

template <class Base>
bool lmdb_reads<Base>::code_mail_failed_to(std::string_view address) const {
    // The failed list is the operator's to purge, and short in a working deployment; it is read
    // only for the address form when address_change.only_without_working_address is set.
    bool failed = false;
    storage::for_each_failed(txn_, [&](const outbox_mail& mail) {
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

template <class Base>
std::vector<outbox_mail> lmdb_reads<Base>::due_mails(std::int64_t now_ms, std::size_t limit,
                                                 const std::function<bool(std::uint64_t)>& skip) const {
    return storage::due_mails(txn_, now_ms, limit, skip);
}

template <class Base>
std::optional<std::int64_t> lmdb_reads<Base>::next_due_after(std::int64_t now_ms) const {
    return storage::next_due_after(txn_, now_ms);
}

template <class Base>
outbox_stats lmdb_reads<Base>::outbox_statistics() const { return storage::outbox_statistics(txn_); }

template <class Base>
void lmdb_reads<Base>::for_each_queued(const std::function<bool(const outbox_mail&)>& visit) const {
    storage::for_each_queued(txn_, visit);
}

template <class Base>
void lmdb_reads<Base>::for_each_failed(const std::function<bool(const outbox_mail&)>& visit) const {
    storage::for_each_failed(txn_, visit);
}

template <class Base>
void lmdb_reads<Base>::for_each_account(std::string_view portal, const std::function<bool(const account&)>& visit) const {
    storage::for_each_account(txn_, portal, visit);
}

template <class Base>
std::vector<std::pair<std::string, session_record>> lmdb_reads<Base>::sessions_of(std::string_view portal,
                                                                              std::string_view id,
                                                                              std::int64_t now) const {
    return storage::sessions_of(txn_, portal, id, now);
}

template <class Base>
std::optional<std::string> lmdb_reads<Base>::get_secret(std::string_view name) const {
    return storage::get_secret(txn_, name);
}

template class lmdb_reads<record_view>;
template class lmdb_reads<record_store>;

bool login_writer::insert_account(const account& a) { return storage::insert_account(txn_, a); }

bool login_writer::erase_account(std::string_view portal, std::string_view id) {
    return storage::erase_account(txn_, portal, id);
}

bool login_writer::remove_mail(const outbox_mail& mail) { return storage::remove_mail(txn_, mail); }

bool login_writer::reschedule_mail(const outbox_mail& mail, std::int64_t new_due_ms, const std::string& error) {
    return storage::reschedule_mail(txn_, mail, new_due_ms, error);
}

bool login_writer::fail_mail(const outbox_mail& mail, const std::string& reason, std::int64_t now) {
    return storage::fail_mail(txn_, mail, reason, now);
}

bool login_writer::retry_mail(std::uint64_t id, std::int64_t now_ms) { return storage::retry_mail(txn_, id, now_ms); }

std::size_t login_writer::purge_failed(std::optional<std::uint64_t> id) { return storage::purge_failed(txn_, id); }

std::size_t login_writer::sweep_expired(std::int64_t now, std::size_t max_entries) {
    return storage::sweep_expired(txn_, now, max_entries);
}

std::string login_writer::get_or_create_secret(std::string_view name, std::size_t bytes) {
    return storage::get_or_create_secret(txn_, name, bytes);
}

bool login_writer::erase_secret(std::string_view name) { return storage::erase_secret(txn_, name); }

}  // namespace nidan::storage
