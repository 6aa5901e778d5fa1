#pragma once
// The one syntax of a mail address nidan accepts, shared by the account rules, the config (the
// sender's address) and the mails, so that no entry point is looser than another.
#include <string>
#include <string_view>

#include "core/base/error.hpp"

namespace nidan {

// Empty (no address) is fine, as is a well-formed one: nullopt. the account then has no registered address. Otherwise an ASCII dot-atom address:
// at most 254 bytes, exactly one '@', a local part of 1..64 RFC 5322 atext characters with no
// leading, trailing or doubled dot, and a domain of at least two dot-separated labels of 1..63
// letters, digits and hyphens, no label starting or ending with a hyphen. Quoted local parts,
// IP-literal domains and internationalised addresses (SMTPUTF8, IDN in U-label form) are refused
// for now: our SMTP relay path and the mail templates assume ASCII.
problem email_problem(std::string_view email);

}  // namespace nidan
