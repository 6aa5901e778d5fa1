#pragma once
// The server secret (HMAC key of code MACs, device tokens and login-form CSRF tokens) read from
// storage.secret_file instead of LMDB's meta table, so that a copy of the data folder alone does
// not let anyone forge tokens or test guessed codes offline.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace nidan::server {

// The `bytes` bytes held in `file`. An absent file is created 0600 (O_EXCL) holding `seed` when
// given (a secret moved out of LMDB, so that issued tokens stay valid) or fresh CSPRNG bytes.
// Throws config_error naming storage.secret_file when the file cannot be read or created, has
// another size, or is readable or writable by group or others.
std::string load_secret_file(const std::filesystem::path& file, std::size_t bytes,
                             const std::optional<std::string>& seed);

}  // namespace nidan::server
