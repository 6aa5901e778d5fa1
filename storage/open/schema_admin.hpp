#pragma once
// `nidan db migrate` and `nidan db status` for either backend: which schema version the store
// holds, which this binary needs, and bringing the first up to the second.
#include <cstdint>
#include <string>

#include "core/base/error.hpp"
#include "core/config/config.hpp"
#include "storage/open/copy_from_lmdb.hpp"

namespace nidan::storage {

struct schema_state {
    std::string backend;       // "lmdb", "postgres"
    std::uint32_t stored = 0;  // 0: no nidan schema there yet
    std::uint32_t current = 0; // what this binary reads and writes
    nidan::problem problem;    // what to run; nullopt when stored == current
};

// Looks only; throws storage::error when the store cannot be reached.
schema_state schema_status(const storage_config& cfg);
// Applies what is missing (safe when several nodes run it at once) and returns the state it
// found before. A store newer than this binary throws storage::error(storage_corrupt).
schema_state migrate_schema(const storage_config& cfg);

// `nidan db copy --from-lmdb`: storage/open/copy_from_lmdb.hpp.
using pg::copy_report;
inline copy_report copy_lmdb_into_postgres(const storage_config& lmdb, const storage_config& target) {
    return pg::copy_from_lmdb(lmdb, target);
}

}  // namespace nidan::storage
