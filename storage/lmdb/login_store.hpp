#pragma once
// The backend record interfaces (storage/backend.hpp, and core's core/login/login_records.hpp under
// them) over LMDB transactions: the login steps decide in core/, these classes turn their reads
// and writes into the typed tables' calls. Both borrow the transaction, which must outlive them.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "storage/backend.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

// The reads, shared by the read-only and the write transaction's classes.
template <class Base>
class lmdb_reads : public Base {
public:
    explicit lmdb_reads(const txn& t) : txn_(t) {}

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

private:
    const txn& txn_;
};

class login_reader final : public lmdb_reads<record_view> {
public:
    using lmdb_reads::lmdb_reads;
};

class login_writer final : public lmdb_reads<record_store> {
public:
    explicit login_writer(write_txn& t) : lmdb_reads(t), txn_(t) {}

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
    std::vector<outbox_mail> lease_mails(std::vector<outbox_mail> due, std::int64_t, std::int64_t) override { return due; }
    std::size_t sweep_expired(std::int64_t now, std::size_t max_entries) override;
    // One process per LMDB file: its gate lives in memory (core/security/attempt_gate.hpp).
    std::vector<gate_entry> gate_track(const std::vector<std::string>&, std::int64_t, std::int64_t) override {
        throw no_shared_gate();
    }
    gate_admission gate_admit(const login::gate_plan&, std::int64_t, std::int64_t) override { throw no_shared_gate(); }
    bool gate_served(const login::gate_plan&, const gate_admission&, std::int64_t, std::int64_t) override {
        throw no_shared_gate();
    }
    void gate_release(const std::vector<std::uint64_t>&) override { throw no_shared_gate(); }
    std::string get_or_create_secret(std::string_view name, std::size_t bytes) override;
    bool erase_secret(std::string_view name) override;

private:
    static std::logic_error no_shared_gate() {
        return std::logic_error("the LMDB backend has no shared attempt gate: its process's own is the gate");
    }
    write_txn& txn_;
};

}  // namespace nidan::storage
