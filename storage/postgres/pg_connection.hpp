#pragma once
// One libpq connection, blocking, owned by one storage thread at a time (pg_backend.hpp), with
// statements prepared once per connection and values sent and read in binary form (no quoting,
// no parsing of numbers as text).
//
// Errors: every failure throws storage::error. Its errc: storage_unavailable for a lost or
// refused connection, a statement timeout, a serialization failure or a deadlock (retry later:
// 503), already_exists for a unique key taken, storage_corrupt for a result of the wrong shape,
// invalid_input for a value the database refuses.
#include <libpq-fe.h>

#include <chrono>
#include <initializer_list>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace nidan::storage::pg {

// The values of one statement's $1, $2 ... in binary form.
class params {
public:
    params& text(std::string_view v);
    params& bytes(std::string_view v);
    params& i64(std::int64_t v);
    params& i32(std::int32_t v);
    params& boolean(bool v);

    int count() const { return static_cast<int>(values_.size()); }
    const Oid* types() const { return types_.data(); }
    const char* const* values() const { return pointers_.data(); }
    const int* lengths() const { return lengths_.data(); }
    const int* formats() const { return formats_.data(); }

private:
    params& add(Oid type, std::string value);

    std::vector<std::string> values_;
    std::vector<const char*> pointers_;
    std::vector<Oid> types_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
};

// A result in binary form; columns read by position.
class result {
public:
    explicit result(PGresult* r) : r_(r) {}
    int rows() const { return PQntuples(r_.get()); }
    bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
    std::string text(int row, int col) const;  // text and bytea alike
    std::int64_t i64(int row, int col) const;
    std::int32_t i32(int row, int col) const;
    std::int16_t i16(int row, int col) const;
    bool boolean(int row, int col) const;
    // "UPDATE 3" and the like: the rows a statement touched.
    std::uint64_t affected() const;

private:
    std::string_view raw(int row, int col, int expected_size) const;
    struct clear {
        void operator()(PGresult* r) const noexcept { PQclear(r); }
    };
    std::unique_ptr<PGresult, clear> r_;
};

struct connect_options {
    std::string url;       // a libpq connection URI or key=value string
    std::string password;  // "" : libpq's own means (URI, PGPASSWORD, .pgpass)
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds statement_timeout{5000};
    // storage.durability = "no_sync": commits do not wait for the WAL flush (synchronous_commit
    // off): a crash of the database server can lose the last moments of commits, never corrupt.
    bool commit_without_flush = false;
    std::string application_name = "nidan";
};

class connection {
public:
    // Connects and sets the session's statement timeout; throws storage::error(storage_unavailable)
    // with libpq's message (the password never appears in it).
    explicit connection(const connect_options& options);

    // A statement with parameters, run and its result returned; `name` prepares it once on
    // this connection and reuses it afterwards.
    result run(std::string_view name, std::string_view sql, const params& p = {}) { return run(name, {sql}, p); }
    // The same, with the text in parts (shared column lists): joined only when it is prepared.
    result run(std::string_view name, std::initializer_list<std::string_view> sql, const params& p = {});
    // Statements without parameters or results (BEGIN, COMMIT, DDL), sent as given.
    void exec(std::string_view sql);
    // After a failure inside a transaction: ROLLBACK when the connection still works; a
    // connection that cannot even do that is marked unusable. Never throws.
    void rollback() noexcept;

    // False once the connection is lost: the pool then replaces it.
    bool usable() const { return PQstatus(conn_.get()) == CONNECTION_OK && !broken_; }
    PGconn* handle() const { return conn_.get(); }

private:
    result check(PGresult* r, std::string_view what);

    struct finish {
        void operator()(PGconn* c) const noexcept { PQfinish(c); }
    };
    std::unique_ptr<PGconn, finish> conn_;
    std::unordered_set<std::string> prepared_;
    bool broken_ = false;
};

}  // namespace nidan::storage::pg
