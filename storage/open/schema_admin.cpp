#include "storage/open/schema_admin.hpp"

#include "storage/lmdb/environment.hpp"
#include "storage/postgres/pg_backend.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace nidan::storage {

schema_state schema_status(const storage_config& cfg) {
    if (cfg.backend == storage_backend::postgres) {
        pg::connection c(pg::options_of(cfg));
        return {"postgres", pg::stored_schema_version(c), pg::current_schema_version(), pg::schema_problem(c)};
    }
    // LMDB checks its version when the environment opens and refuses any other one.
    environment env(make_options(cfg));
    return {"lmdb", schema_version, schema_version, {}};
}

schema_state migrate_schema(const storage_config& cfg) {
    if (cfg.backend == storage_backend::postgres) {
        pg::connection c(pg::options_of(cfg));
        const auto before = pg::migrate(c);
        return {"postgres", before, pg::current_schema_version(), {}};
    }
    // Opening creates the tables of a new data folder.
    environment env(make_options(cfg));
    return {"lmdb", schema_version, schema_version, {}};
}

}  // namespace nidan::storage
