#pragma once
// The PostgreSQL schema, as versioned migrations shipped in the binary (pg_schema.cpp holds the
// SQL, which is also its documentation), applied by `nidan db migrate` and checked at startup.
//
// Migrations run in one transaction each, under an advisory lock, so two nodes migrating at
// once apply each step once; the version is the number of the last one applied, in
// nidan_schema.
#include <cstdint>
#include <string>

#include "core/base/error.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace nidan::storage::pg {

// The version this binary reads and writes.
std::uint32_t current_schema_version();

// The version stored in the database; 0 when nidan's tables are not there.
std::uint32_t stored_schema_version(connection& c);

// Applies the missing migrations; returns the version before. A database newer than this
// binary throws storage::error(storage_corrupt) naming both versions.
std::uint32_t migrate(connection& c);

// What the operator must run; nullopt when the stored version is the current one.
problem schema_problem(connection& c);

}  // namespace nidan::storage::pg
