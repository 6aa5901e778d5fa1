#pragma once
// LMDB's return codes as storage::error (storage/error.hpp), so that nothing above storage/lmdb
// needs to know them.
#include <string_view>

#include "storage/error.hpp"

namespace nidan::storage {

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

}  // namespace nidan::storage
