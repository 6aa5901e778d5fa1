#pragma once
// The LMDB environment: one per process per data folder (LMDB forbids opening the same folder
// twice in one process). Other processes, such as `nidan user ...` while the server runs, open
// the same folder through their own environment; LMDB's lock file serialises their writes.
#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include "core/config/config.hpp"
#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

struct options {
    std::filesystem::path dir;
    std::uint64_t map_size_bytes = 0;  // the most the data file may grow to
    unsigned max_readers = 0;          // concurrent read txns across all processes
    durability_mode durability = durability_mode::full_sync;
};

// What each durability mode risks (a process crash never loses a committed txn in any mode):
//  full_sync    : fsync data and meta page on every commit. Nothing committed is lost.
//  no_meta_sync : MDB_NOMETASYNC, the meta page is flushed at the next commit's fsync instead.
//                 A system crash or power loss may undo the last commit; the data stays intact.
//  no_sync      : MDB_NOSYNC, no fsync at commit; the OS writes back when it likes. A system
//                 crash may lose any recent commits, and on filesystems that reorder writes the
//                 data file may be corrupt afterwards. Call sync() at shutdown.
unsigned durability_flags(durability_mode mode) noexcept;

options make_options(const storage_config& config);

class environment {
public:
    // Creates `dir` (mode 0700) when missing, opens the environment with MDB_NOTLS, and in one
    // write txn creates every table and stores or checks the schema version. A different
    // stored version throws storage::error(storage_corrupt); LMDB failures throw storage::error.
    explicit environment(const options& opts);
    ~environment();

    environment(const environment&) = delete;
    environment& operator=(const environment&) = delete;

    // Throws storage::error(storage_unavailable) when all max_readers slots are taken.
    read_txn begin_read() const;
    // A top-level write txn. Blocks while another thread or process holds LMDB's write lock.
    write_txn begin_write();

    const tables& dbs() const noexcept { return tables_; }
    const options& settings() const noexcept { return options_; }
    MDB_env* handle() const noexcept { return env_.get(); }

    struct usage {
        std::uint64_t map_bytes = 0;   // configured ceiling
        std::uint64_t used_bytes = 0;  // high-water mark of the data file (free pages included)
    };
    usage stats() const;

    // Forces committed data to disk; the point of calling it is at shutdown in no_sync and
    // no_meta_sync modes.
    void sync();

    // Frees reader slots left by processes that died inside a read txn; returns how many.
    int clear_stale_readers();

private:
    struct env_closer {
        void operator()(MDB_env* env) const noexcept { mdb_env_close(env); }
    };

    void open_tables();

    options options_;
    std::unique_ptr<MDB_env, env_closer> env_;
    tables tables_;
};

}  // namespace nidan::storage
