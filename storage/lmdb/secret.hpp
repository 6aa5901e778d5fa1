#pragma once
// Server-wide random secrets kept in `meta` (e.g. meta_server_secret, the HMAC key for login
// codes). Created on first use inside the caller's write txn, so two processes opening the same
// data folder at once still end up with one secret: LMDB's write lock makes the second see the
// first's.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

// The secret stored under `name`, or `bytes` fresh bytes from libsodium's CSPRNG stored there
// now. A stored secret of another size throws storage_corrupt: silently replacing it would void
// every code and session MAC'd with it, and truncating it would weaken it. An empty name, a
// reserved meta name or bytes == 0 throw invalid_input; a CSPRNG that fails to initialise throws
// storage_unavailable.
std::string get_or_create_secret(write_txn& t, std::string_view name, std::size_t bytes);

// The stored bytes, or nullopt when none has been created yet.
std::optional<std::string> get_secret(const txn& t, std::string_view name);

// Removes the secret stored under `name` (when it moved to a file); false when there was none.
bool erase_secret(write_txn& t, std::string_view name);

}  // namespace nidan::storage
