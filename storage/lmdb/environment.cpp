#include "storage/lmdb/environment.hpp"

#include <string>
#include <system_error>

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/lmdb_error.hpp"

namespace nidan::storage {
namespace {

// The most named databases nidan will ever open; room to add tables without touching this.
constexpr MDB_dbi max_tables = 32;

void create_private_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return;
    std::filesystem::create_directories(dir, ec);
    if (!ec) {
        // Password hashes and the server secret live here: only the owner may look.
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, ec);
    }
    if (ec) {
        throw error(errc::storage_unavailable,
                    "creating data folder " + dir.string() + ": " + ec.message(), ec.value());
    }
}

void check_schema_version(write_txn& txn) {
    const MDB_dbi meta = txn.dbs().meta;
    const std::optional<std::string_view> stored = txn.get(meta, meta_schema_version);
    if (!stored) {
        std::string encoded;
        append_u32_be(encoded, schema_version);
        txn.put(meta, meta_schema_version, encoded);
        return;
    }
    if (stored->size() != 4) throw_corrupt("meta schema_version: not a 4-byte integer");
    const std::uint32_t found = read_u32_be(*stored);
    if (found != schema_version) {
        throw error(errc::storage_corrupt, "data folder has schema version " + std::to_string(found) +
                                               ", this build reads version " +
                                               std::to_string(schema_version));
    }
}

}  // namespace

unsigned durability_flags(durability_mode mode) noexcept {
    switch (mode) {
    case durability_mode::full_sync: return 0;
    case durability_mode::no_meta_sync: return MDB_NOMETASYNC;
    case durability_mode::no_sync: return MDB_NOSYNC;
    }
    return 0;
}

options make_options(const storage_config& config) {
    return options{config.data_dir, config.map_size_mib * 1024 * 1024, config.max_readers,
                   config.durability};
}

environment::environment(const options& opts) : options_(opts) {
    create_private_dir(options_.dir);

    MDB_env* raw = nullptr;
    check_lmdb(mdb_env_create(&raw), "mdb_env_create");
    env_.reset(raw);
    check_lmdb(mdb_env_set_mapsize(raw, static_cast<std::size_t>(options_.map_size_bytes)),
               "mdb_env_set_mapsize");
    check_lmdb(mdb_env_set_maxreaders(raw, options_.max_readers), "mdb_env_set_maxreaders");
    check_lmdb(mdb_env_set_maxdbs(raw, max_tables), "mdb_env_set_maxdbs");

    // MDB_NOTLS: read txns are not tied to a thread, so a server may begin one on any thread.
    // No MDB_WRITEMAP (it rules out the nested txns the writer relies on) and no MDB_NOLOCK (the
    // CLI writes to the same folder from another process).
    const unsigned flags = MDB_NOTLS | durability_flags(options_.durability);
    check_lmdb(mdb_env_open(raw, options_.dir.c_str(), flags, 0600),
               "mdb_env_open(" + options_.dir.string() + ")");

    // A process that crashed inside a read txn keeps its reader slot, and with it old pages,
    // until someone clears it: opening is a good moment.
    clear_stale_readers();
    open_tables();
}

environment::~environment() = default;

void environment::open_tables() {
    write_txn txn = begin_write();
    for (const table_info& info : all_tables) {
        MDB_dbi dbi = 0;
        check_lmdb(mdb_dbi_open(txn.handle(), info.name, MDB_CREATE, &dbi),
                   std::string("mdb_dbi_open(") + info.name + ")");
        tables_.*info.handle = dbi;
    }
    check_schema_version(txn);
    txn.commit();
}

read_txn environment::begin_read() const {
    MDB_txn* raw = nullptr;
    check_lmdb(mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &raw), "mdb_txn_begin(read)");
    return read_txn(raw, tables_);
}

write_txn environment::begin_write() {
    MDB_txn* raw = nullptr;
    check_lmdb(mdb_txn_begin(env_.get(), nullptr, 0, &raw), "mdb_txn_begin(write)");
    return write_txn(raw, tables_);
}

environment::usage environment::stats() const {
    MDB_envinfo info{};
    check_lmdb(mdb_env_info(env_.get(), &info), "mdb_env_info");
    MDB_stat stat{};
    check_lmdb(mdb_env_stat(env_.get(), &stat), "mdb_env_stat");
    // Pages are numbered from 0, so the file holds last_pgno + 1 of them.
    return usage{info.me_mapsize, (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize};
}

void environment::sync() { check_lmdb(mdb_env_sync(env_.get(), 1), "mdb_env_sync"); }

int environment::clear_stale_readers() {
    int dead = 0;
    check_lmdb(mdb_reader_check(env_.get(), &dead), "mdb_reader_check");
    return dead;
}

}  // namespace nidan::storage
