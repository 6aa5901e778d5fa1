#pragma once
// The one exception type storage/ throws. Its code() is a nidan::errc so callers map it to an
// HTTP status (or a CLI exit code) without knowing LMDB; lmdb_code() keeps the raw LMDB/errno
// value for logs and tests.
#include <string>
#include <string_view>
#include <system_error>

#include "core/base/error.hpp"

namespace nidan::storage {

class error : public std::system_error {
public:
    // what() is "<context>: <category message>", e.g. "accounts value: truncated: stored data
    // is corrupt or of another schema version".
    error(errc code, const std::string& context, int lmdb_code = 0);

    // The LMDB return code (or errno) behind this error; 0 when it came from our own checks.
    int lmdb_code() const noexcept { return lmdb_code_; }

private:
    int lmdb_code_;
};

// A stored value or key failed to decode.
[[noreturn]] void throw_corrupt(std::string_view what);

}  // namespace nidan::storage
