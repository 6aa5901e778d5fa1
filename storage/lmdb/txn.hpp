#pragma once
// Move-only RAII LMDB transactions: a transaction that is not committed is aborted when it goes
// out of scope, so an exception can never leave a write half-applied or a reader slot taken.
//
// Rules LMDB imposes (checked by LMDB, not here):
//  - A write_txn belongs to the thread that began it: commit or abort it on that thread.
//    Read txns may move between threads (the environment uses MDB_NOTLS).
//  - While a nested() child is open, its parent may not be used; commit or drop the child first.
//  - Views returned by get() and passed to callbacks point into the map: they are valid until
//    the transaction ends (or, in a write txn, until the next write to that key's page).
#include <lmdb.h>

#include <functional>
#include <optional>
#include <string_view>

#include "storage/lmdb/schema.hpp"

namespace nidan::storage {

class environment;

class txn {
public:
    // Return true to go on to the next entry, false to stop.
    using visitor = std::function<bool(std::string_view key, std::string_view value)>;

    txn(const txn&) = delete;
    txn& operator=(const txn&) = delete;

    // The table handles, so typed helpers need nothing but the txn.
    const tables& dbs() const noexcept { return *tables_; }
    MDB_txn* handle() const noexcept { return handle_; }
    bool active() const noexcept { return handle_ != nullptr; }

    // nullopt when the key is absent.
    std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) const;

    // Visits entries in key order starting at the first key >= `from`. The visitor must not
    // write to the table being walked; collect keys first and write afterwards.
    void for_each_from(MDB_dbi dbi, std::string_view from, const visitor& visit) const;
    // Visits entries whose key starts with `prefix` (all entries for an empty prefix).
    void for_each_prefix(MDB_dbi dbi, std::string_view prefix, const visitor& visit) const;

    // Number of entries in the table (as seen by this txn).
    std::size_t entries(MDB_dbi dbi) const;

protected:
    txn(MDB_txn* handle, const tables& dbs) noexcept : handle_(handle), tables_(&dbs) {}
    txn(txn&& other) noexcept;
    txn& operator=(txn&& other) noexcept;
    ~txn();

    void abort() noexcept;
    // Throws storage_unavailable when the txn was already committed or aborted.
    MDB_txn* live_handle() const;
    // Gives up ownership (the handle is committed or freed by the caller).
    MDB_txn* release() noexcept;

private:
    MDB_txn* handle_ = nullptr;
    const tables* tables_ = nullptr;
};

class read_txn : public txn {
public:
    read_txn(read_txn&&) noexcept = default;
    read_txn& operator=(read_txn&&) noexcept = default;
    ~read_txn() = default;

private:
    friend class environment;
    read_txn(MDB_txn* handle, const tables& dbs) noexcept : txn(handle, dbs) {}
};

class write_txn : public txn {
public:
    write_txn(write_txn&&) noexcept = default;
    write_txn& operator=(write_txn&&) noexcept = default;
    ~write_txn() = default;

    // Insert or replace. A full map throws storage::error(storage_full); after that the txn
    // can only be dropped (LMDB marks it failed), which is why the writer runs each closure in
    // its own nested() child.
    void put(MDB_dbi dbi, std::string_view key, std::string_view value);
    // Like put, but false (and nothing written) when the key already exists.
    bool insert(MDB_dbi dbi, std::string_view key, std::string_view value);
    // False when the key was absent.
    bool erase(MDB_dbi dbi, std::string_view key);

    // Makes the changes durable (top level) or hands them to the parent (nested). On failure
    // the txn is gone all the same and storage::error is thrown.
    void commit();
    // Drops the changes now rather than at destruction.
    void abort() noexcept { txn::abort(); }

    // A child transaction: its changes reach this one only if it commits. Not available with
    // MDB_WRITEMAP, which the environment therefore never sets.
    write_txn nested();

private:
    friend class environment;
    write_txn(MDB_txn* handle, const tables& dbs) noexcept : txn(handle, dbs) {}
};

}  // namespace nidan::storage
