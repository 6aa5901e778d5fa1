#pragma once
// The start's check of the files holding customer data or credentials: one warning line per
// file that group or others can read or write (log event "file.exposed", with its mode), so an
// operator sees a 0644 log or a 0755 data folder before it matters. Nothing is refused: the
// operator may mean it (a log collector in the group).
#include "core/config/config.hpp"

namespace nidan::server {

// The data folder and its data.mdb, smtp.password_file, tls.key_file (with tls.enabled),
// log.file and log.audit_file; absent or unset ones are skipped. Returns how many warnings it wrote.
unsigned warn_exposed_files(const config& cfg);

}  // namespace nidan::server
