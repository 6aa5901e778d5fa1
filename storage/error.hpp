#pragma once
// The one exception type storage/ throws. Its code() is a nidan::errc so callers map it to an
// HTTP status (or a CLI exit code) without knowing LMDB; lmdb_code() keeps the raw LMDB/errno
// value for logs and tests.
#include <string>
#include <string_view>
#include <system_error>

#include "core/error.hpp"

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

// Which nidan::errc an LMDB return code (or errno) stands for:
//   MDB_MAP_FULL                                   -> storage_full
//   MDB_VERSION_MISMATCH, MDB_INVALID, MDB_CORRUPTED,
//   MDB_PAGE_NOTFOUND, MDB_INCOMPATIBLE            -> storage_corrupt
//   MDB_BAD_VALSIZE (empty or over-long key)       -> invalid_input
//   MDB_KEYEXIST                                   -> already_exists
//   MDB_NOTFOUND                                   -> not_found
//   everything else (MDB_READERS_FULL, MDB_MAP_RESIZED, MDB_PANIC, EIO, ENOSPC, EACCES, ...)
//                                                  -> storage_unavailable
errc classify_lmdb(int rc) noexcept;

// Throws storage::error naming the LMDB call (and the table or file it worked on), the
// mdb_strerror text and, where one setting fixes it, which one to raise.
[[noreturn]] void throw_lmdb(int rc, std::string_view call);

// The usual shape of an LMDB call site: anything but MDB_SUCCESS throws.
inline void check_lmdb(int rc, std::string_view call) {
    if (rc != 0) throw_lmdb(rc, call);
}

// A stored value or key failed to decode.
[[noreturn]] void throw_corrupt(std::string_view what);

}  // namespace nidan::storage
