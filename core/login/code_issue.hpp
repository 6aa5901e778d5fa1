#pragma once
// Issuing a code, shared by the password step, the address form and the account page's address
// change: the code and its mail are made before the write transaction (rendering stays out of
// it), then stored together inside it, killing any earlier code of the account.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/login/login_context.hpp"

namespace nidan::login {

struct code_issue {
    code_record record;
    outbox_mail mail;
};

code_issue prepare_code(const context& c, std::string_view id, const std::string& to, code_purpose purpose,
                        const std::string& session_hash, std::int64_t now);

// Inside the caller's write: the code (under the account's credential epoch, read in that same
// write), its mail and the hourly mail count.
void store_code(const context& c, record_writer& w, std::string_view id, code_issue& issue, std::uint64_t epoch,
                std::int64_t now);

// True when the account already had code.mails_per_hour code mails this hour.
bool mail_quota_used(const context& c, const record_reader& r, std::string_view id, std::int64_t now);

}  // namespace nidan::login
