#pragma once
// The backend record interfaces (storage/backend.hpp) over one PostgreSQL transaction: each
// call is one prepared statement on the connection. The caller (pg_backend) begins and ends the
// transaction.
//
// One account, one writer at a time: inside a write, the first statement about an account
// (portal, self-care ID) takes a transaction-scoped advisory lock on it, so concurrent steps of
// one account on different nodes run one after the other, and what a step read (the live code,
// the mail quota, the lock flags, the phone strikes) is still true when it writes. Steps of
// different accounts do not wait for each other. Counters of client addresses are shared by
// many accounts and updated by atomic upserts instead.
#include <string>
#include <string_view>
#include <unordered_set>

#include "storage/backend.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace nidan::storage::pg {

template <class Base>
class reads : public Base {
public:
    explicit reads(connection& c) : c_(c) {}

    std::optional<account> find_account(std::string_view portal, std::string_view id) const override;
    std::optional<session_record> find_session(std::string_view hash, std::int64_t now) const override;
    std::optional<code_record> find_code(std::string_view portal, std::string_view id) const override;
    std::uint32_t count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                        std::int64_t now) const override;
    bool code_mail_failed_to(std::string_view address) const override;
    std::vector<outbox_mail> due_mails(std::int64_t now_ms, std::size_t limit,
                                       const std::function<bool(std::uint64_t)>& skip) const override;
    std::optional<std::int64_t> next_due_after(std::int64_t now_ms) const override;
    outbox_stats outbox_statistics() const override;
    void for_each_queued(const std::function<bool(const outbox_mail&)>& visit) const override;
    void for_each_failed(const std::function<bool(const outbox_mail&)>& visit) const override;
    void for_each_account(std::string_view portal, const std::function<bool(const account&)>& visit) const override;
    std::vector<std::pair<std::string, session_record>> sessions_of(std::string_view portal, std::string_view id,
                                                                    std::int64_t now) const override;
    std::optional<std::string> get_secret(std::string_view name) const override;

protected:
    // Called before any statement about the account; a write takes its lock here.
    virtual void touching(std::string_view, std::string_view) const {}
    connection& c_;
};

class view final : public reads<record_view> {
public:
    using reads::reads;
};

class store final : public reads<record_store> {
public:
    using reads::reads;

    void save_account(const account& a) override;
    void save_session(std::string_view hash, const session_record& s) override;
    void drop_session(std::string_view hash) override;
    void save_code(std::string_view portal, std::string_view id, const code_record& c) override;
    void drop_code(std::string_view portal, std::string_view id) override;
    void add_count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                   std::int64_t expires_at) override;
    void clear_count(std::string_view kind, std::string_view subject, std::int64_t window_start) override;
    void queue_mail(outbox_mail mail, std::int64_t now_ms) override;

    bool insert_account(const account& a) override;
    bool erase_account(std::string_view portal, std::string_view id) override;
    bool remove_mail(const outbox_mail& mail) override;
    bool reschedule_mail(const outbox_mail& mail, std::int64_t new_due_ms, const std::string& error) override;
    bool fail_mail(const outbox_mail& mail, const std::string& reason, std::int64_t now) override;
    bool retry_mail(std::uint64_t id, std::int64_t now_ms) override;
    std::size_t purge_failed(std::optional<std::uint64_t> id) override;
    std::vector<outbox_mail> lease_mails(std::vector<outbox_mail> due, std::int64_t now_ms,
                                         std::int64_t lease_until_ms) override;
    std::size_t sweep_expired(std::int64_t now, std::size_t max_entries) override;
    std::string get_or_create_secret(std::string_view name, std::size_t bytes) override;
    bool erase_secret(std::string_view name) override;
    // storage/postgres/pg_gate.cpp
    std::vector<gate_entry> gate_track(const std::vector<std::string>& subjects, std::int64_t now_ms,
                                       std::int64_t expires_ms) override;
    gate_admission gate_admit(const login::gate_plan& plan, std::int64_t now_ms, std::int64_t expires_ms) override;
    bool gate_served(const login::gate_plan& plan, const gate_admission& admitted, std::int64_t now_ms,
                     std::int64_t expires_ms) override;
    void gate_release(const std::vector<std::uint64_t>& entries) override;

    // Whether this transaction queued a mail (the backend then tells the delivery loops).
    bool queued_mail() const { return queued_mail_; }

private:
    void touching(std::string_view portal, std::string_view id) const override;
    // Takes the gate's locks of these rows' subjects, in one order (no deadlock between nodes).
    void lock_gate_subjects(std::vector<std::string> subjects);
    void notify_delivery();
    mutable std::unordered_set<std::string> locked_;
    bool queued_mail_ = false;
};

}  // namespace nidan::storage::pg
