#pragma once
// core's login record interface (core/login_records.hpp) over LMDB transactions: the login steps
// decide in core/, these classes turn their reads and writes into the typed tables' calls.
// Both borrow the transaction, which must outlive them.
#include "core/login_records.hpp"
#include "storage/txn.hpp"

namespace nidan::storage {

class login_reader : public login::record_reader {
public:
    explicit login_reader(const txn& t) : txn_(t) {}

    std::optional<account> find_account(std::string_view portal, std::string_view id) const override;
    std::optional<session_record> find_session(std::string_view hash, std::int64_t now) const override;
    std::optional<code_record> find_code(std::string_view portal, std::string_view id) const override;
    std::uint32_t count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                        std::int64_t now) const override;
    bool code_mail_failed_to(std::string_view address) const override;

private:
    const txn& txn_;
};

class login_writer final : public login::record_writer {
public:
    explicit login_writer(write_txn& t) : txn_(t), reader_(t) {}

    std::optional<account> find_account(std::string_view portal, std::string_view id) const override {
        return reader_.find_account(portal, id);
    }
    std::optional<session_record> find_session(std::string_view hash, std::int64_t now) const override {
        return reader_.find_session(hash, now);
    }
    std::optional<code_record> find_code(std::string_view portal, std::string_view id) const override {
        return reader_.find_code(portal, id);
    }
    std::uint32_t count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                        std::int64_t now) const override {
        return reader_.count(kind, subject, window_start, now);
    }
    bool code_mail_failed_to(std::string_view address) const override { return reader_.code_mail_failed_to(address); }

    void save_account(const account& a) override;
    void save_session(std::string_view hash, const session_record& s) override;
    void drop_session(std::string_view hash) override;
    void save_code(std::string_view portal, std::string_view id, const code_record& c) override;
    void drop_code(std::string_view portal, std::string_view id) override;
    void add_count(std::string_view kind, std::string_view subject, std::int64_t window_start,
                   std::int64_t expires_at) override;
    void clear_count(std::string_view kind, std::string_view subject, std::int64_t window_start) override;
    void queue_mail(outbox_mail mail, std::int64_t now_ms) override;

private:
    write_txn& txn_;
    login_reader reader_;
};

}  // namespace nidan::storage
