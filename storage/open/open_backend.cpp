#include "storage/open/open_backend.hpp"

#include <filesystem>
#include <system_error>

#include "storage/lmdb/lmdb_backend.hpp"
#include "storage/postgres/pg_backend.hpp"

namespace nidan::storage {

std::unique_ptr<backend> open_backend(const storage_config& cfg) {
    switch (cfg.backend) {
    case storage_backend::postgres: return std::make_unique<pg::pg_backend>(cfg);
    case storage_backend::lmdb: break;
    }
    return std::make_unique<lmdb_backend>(cfg);
}

std::string missing_data(const storage_config& cfg) {
    // The database's schema is checked when the backend opens.
    if (cfg.backend == storage_backend::postgres) return {};
    std::error_code ec;
    if (std::filesystem::exists(cfg.data_dir / "data.mdb", ec)) return {};
    return "no nidan data in " + cfg.data_dir.string() + " (check storage.data_dir)";
}

}  // namespace nidan::storage
