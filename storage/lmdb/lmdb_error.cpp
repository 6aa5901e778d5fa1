#include "storage/lmdb/lmdb_error.hpp"

#include <lmdb.h>

#include <string>

namespace nidan::storage {

errc classify_lmdb(int rc) noexcept {
    switch (rc) {
    case MDB_SUCCESS: return errc::ok;
    case MDB_MAP_FULL: return errc::storage_full;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE: return errc::storage_corrupt;
    case MDB_BAD_VALSIZE: return errc::invalid_input;
    case MDB_KEYEXIST: return errc::already_exists;
    case MDB_NOTFOUND: return errc::not_found;
    default: return errc::storage_unavailable;
    }
}

namespace {

// The operator's next step, when a single setting is the fix. MDB_MAP_FULL needs none here:
// the storage_full category message already says "raise storage.map_size_mib".
std::string_view remedy(int rc) {
    switch (rc) {
    case MDB_READERS_FULL: return " (raise storage.max_readers)";
    case MDB_MAP_RESIZED:
        return " (another process grew the map: use the same storage.map_size_mib everywhere "
               "and restart)";
    case MDB_VERSION_MISMATCH: return " (the data folder was written by another LMDB version)";
    default: return "";
    }
}

}  // namespace

void throw_lmdb(int rc, std::string_view call) {
    std::string context(call);
    context += ": ";
    context += mdb_strerror(rc);
    context += remedy(rc);
    throw error(classify_lmdb(rc), context, rc);
}

}  // namespace nidan::storage
