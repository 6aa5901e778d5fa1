#include "storage/lmdb/txn.hpp"

#include <memory>
#include <string>

#include "storage/error.hpp"
#include "storage/lmdb/lmdb_error.hpp"

namespace nidan::storage {
namespace {

MDB_val to_val(std::string_view bytes) noexcept {
    // LMDB never writes through mv_data of a key or of a value given to mdb_put.
    return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view to_view(const MDB_val& val) noexcept {
    return {static_cast<const char*>(val.mv_data), val.mv_size};
}

// "mdb_put(accounts)": only built on the error path.
[[noreturn]] void throw_for_table(int rc, const char* call, const tables& dbs, MDB_dbi dbi) {
    const std::optional<table_id> id = dbs.id_of(dbi);
    std::string context(call);
    context += '(';
    context += id ? table_name(*id) : "unknown table";
    context += ')';
    throw_lmdb(rc, context);
}

struct cursor_closer {
    void operator()(MDB_cursor* cursor) const noexcept { mdb_cursor_close(cursor); }
};
using cursor_ptr = std::unique_ptr<MDB_cursor, cursor_closer>;

}  // namespace

txn::txn(txn&& other) noexcept : handle_(other.handle_), tables_(other.tables_) {
    other.handle_ = nullptr;
}

txn& txn::operator=(txn&& other) noexcept {
    if (this != &other) {
        abort();
        handle_ = other.handle_;
        tables_ = other.tables_;
        other.handle_ = nullptr;
    }
    return *this;
}

txn::~txn() { abort(); }

void txn::abort() noexcept {
    if (handle_ != nullptr) {
        mdb_txn_abort(handle_);
        handle_ = nullptr;
    }
}

MDB_txn* txn::live_handle() const {
    if (handle_ == nullptr) {
        throw error(errc::storage_unavailable, "transaction already committed or aborted");
    }
    return handle_;
}

MDB_txn* txn::release() noexcept {
    MDB_txn* handle = handle_;
    handle_ = nullptr;
    return handle;
}

std::optional<std::string_view> txn::get(MDB_dbi dbi, std::string_view key) const {
    MDB_val k = to_val(key);
    MDB_val v{};
    const int rc = mdb_get(live_handle(), dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    if (rc != MDB_SUCCESS) throw_for_table(rc, "mdb_get", dbs(), dbi);
    return to_view(v);
}

void txn::for_each_from(MDB_dbi dbi, std::string_view from, const visitor& visit) const {
    MDB_cursor* raw = nullptr;
    int rc = mdb_cursor_open(live_handle(), dbi, &raw);
    if (rc != MDB_SUCCESS) throw_for_table(rc, "mdb_cursor_open", dbs(), dbi);
    const cursor_ptr cursor(raw);

    MDB_val k = to_val(from);
    MDB_val v{};
    // MDB_SET_RANGE rejects an empty key, so "from the start" is MDB_FIRST.
    rc = mdb_cursor_get(raw, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
    while (rc == MDB_SUCCESS) {
        if (!visit(to_view(k), to_view(v))) return;
        rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) throw_for_table(rc, "mdb_cursor_get", dbs(), dbi);
}

void txn::for_each_prefix(MDB_dbi dbi, std::string_view prefix, const visitor& visit) const {
    for_each_from(dbi, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        return visit(key, value);
    });
}

std::size_t txn::entries(MDB_dbi dbi) const {
    MDB_stat stat{};
    const int rc = mdb_stat(live_handle(), dbi, &stat);
    if (rc != MDB_SUCCESS) throw_for_table(rc, "mdb_stat", dbs(), dbi);
    return stat.ms_entries;
}

void write_txn::put(MDB_dbi dbi, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    const int rc = mdb_put(live_handle(), dbi, &k, &v, 0);
    if (rc != MDB_SUCCESS) throw_for_table(rc, "mdb_put", dbs(), dbi);
}

bool write_txn::insert(MDB_dbi dbi, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    const int rc = mdb_put(live_handle(), dbi, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return false;
    if (rc != MDB_SUCCESS) throw_for_table(rc, "mdb_put", dbs(), dbi);
    return true;
}

bool write_txn::erase(MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key);
    const int rc = mdb_del(live_handle(), dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != MDB_SUCCESS) throw_for_table(rc, "mdb_del", dbs(), dbi);
    return true;
}

void write_txn::commit() {
    live_handle();  // throws if already finished
    // mdb_txn_commit frees the txn whether it succeeds or not.
    const int rc = mdb_txn_commit(release());
    check_lmdb(rc, "mdb_txn_commit");
}

write_txn write_txn::nested() {
    MDB_txn* child = nullptr;
    const int rc = mdb_txn_begin(mdb_txn_env(live_handle()), live_handle(), 0, &child);
    check_lmdb(rc, "mdb_txn_begin(nested)");
    return write_txn(child, dbs());
}

}  // namespace nidan::storage
