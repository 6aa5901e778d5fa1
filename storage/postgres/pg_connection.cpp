#include "storage/postgres/pg_connection.hpp"

#include <cstring>

#include "storage/error.hpp"

namespace nidan::storage::pg {
namespace {

// Type OIDs of the binary parameters (pg_type.dat; stable since PostgreSQL 7).
constexpr Oid oid_bool = 16, oid_bytea = 17, oid_int8 = 20, oid_int4 = 23, oid_text = 25;

std::string big_endian(std::uint64_t v, int bytes) {
    std::string out(static_cast<std::size_t>(bytes), '\0');
    for (int i = bytes - 1; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
    return out;
}

std::uint64_t from_big_endian(std::string_view b) {
    std::uint64_t v = 0;
    for (const char c : b) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
}

// SQLSTATE classes (PostgreSQL appendix A) to what the caller can do about them.
errc classify(const char* sqlstate) {
    const std::string_view s = sqlstate ? sqlstate : "";
    if (s == "23505") return errc::already_exists;
    if (s.starts_with("22") || s.starts_with("23")) return errc::invalid_input;
    if (s == "53100") return errc::storage_full;  // disk full
    // 08 connection, 40 serialization / deadlock, 53 resources, 57 cancel / admin shutdown,
    // 58 system: all "try again later".
    return errc::storage_unavailable;
}

std::string one_line(const char* message) {
    std::string out = message ? message : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    for (auto& c : out)
        if (c == '\n') c = ' ';
    return out;
}

}  // namespace

params& params::add(Oid type, std::string value) {
    values_.push_back(std::move(value));
    types_.push_back(type);
    formats_.push_back(1);
    lengths_.push_back(static_cast<int>(values_.back().size()));
    // Pointers are taken at the end: values_ may still move while it grows.
    pointers_.clear();
    for (const auto& v : values_) pointers_.push_back(v.data());
    return *this;
}

params& params::text(std::string_view v) { return add(oid_text, std::string(v)); }
params& params::bytes(std::string_view v) { return add(oid_bytea, std::string(v)); }
params& params::i64(std::int64_t v) { return add(oid_int8, big_endian(static_cast<std::uint64_t>(v), 8)); }
params& params::i32(std::int32_t v) { return add(oid_int4, big_endian(static_cast<std::uint32_t>(v), 4)); }
params& params::boolean(bool v) { return add(oid_bool, std::string(1, v ? '\1' : '\0')); }

std::string_view result::raw(int row, int col, int expected_size) const {
    if (row >= rows() || col >= PQnfields(r_.get()) || is_null(row, col)) throw_corrupt("database result: missing value");
    const auto length = PQgetlength(r_.get(), row, col);
    if (expected_size >= 0 && length != expected_size) throw_corrupt("database result: value of the wrong size");
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(length)};
}

std::string result::text(int row, int col) const { return std::string(raw(row, col, -1)); }
std::int64_t result::i64(int row, int col) const { return static_cast<std::int64_t>(from_big_endian(raw(row, col, 8))); }
std::int32_t result::i32(int row, int col) const { return static_cast<std::int32_t>(from_big_endian(raw(row, col, 4))); }
std::int16_t result::i16(int row, int col) const { return static_cast<std::int16_t>(from_big_endian(raw(row, col, 2))); }
bool result::boolean(int row, int col) const { return raw(row, col, 1)[0] != 0; }

std::uint64_t result::affected() const {
    const char* n = PQcmdTuples(r_.get());
    return n && *n ? std::stoull(n) : 0;
}

connection::connection(const connect_options& o) {
    const auto timeout_s = std::to_string(std::max<std::int64_t>(2, (o.connect_timeout.count() + 999) / 1000));
    // statement_timeout and lock_timeout bound every statement: a request never hangs on the
    // database longer than that, it fails and answers 503.
    const auto settings = "-c statement_timeout=" + std::to_string(o.statement_timeout.count()) +
                          " -c lock_timeout=" + std::to_string(o.statement_timeout.count()) +
                          (o.commit_without_flush ? " -c synchronous_commit=off" : "");
    std::vector<const char*> keys{"dbname", "connect_timeout", "application_name", "options"};
    std::vector<const char*> values{o.url.c_str(), timeout_s.c_str(), o.application_name.c_str(), settings.c_str()};
    if (!o.password.empty()) {
        keys.push_back("password");
        values.push_back(o.password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_.reset(PQconnectdbParams(keys.data(), values.data(), 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK)
        throw error(errc::storage_unavailable,
                    "cannot connect to PostgreSQL (storage.postgres_url): " + one_line(conn_ ? PQerrorMessage(conn_.get()) : "out of memory"));
}

result connection::check(PGresult* r, std::string_view what) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result(r);
    const char* sqlstate = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const auto code = classify(sqlstate);
    std::string message = one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_.get()));
    if (message.empty()) message = one_line(PQerrorMessage(conn_.get()));
    const std::string state = sqlstate ? sqlstate : "none";
    if (r) PQclear(r);
    if (PQstatus(conn_.get()) != CONNECTION_OK) broken_ = true;
    throw error(code, "PostgreSQL " + std::string(what) + " (SQLSTATE " + state + "): " + message);
}

result connection::run(std::string_view name, std::initializer_list<std::string_view> sql, const params& p) {
    const std::string statement(name);
    if (!prepared_.contains(statement)) {
        std::string text;
        for (const auto part : sql) text += part;
        check(PQprepare(conn_.get(), statement.c_str(), text.c_str(), p.count(), p.types()), statement);
        prepared_.insert(statement);
    }
    return check(PQexecPrepared(conn_.get(), statement.c_str(), p.count(), p.values(), p.lengths(), p.formats(), 1),
                 statement);
}

void connection::rollback() noexcept {
    if (!usable()) return;
    try {
        exec("ROLLBACK");
    } catch (...) {
        broken_ = true;
    }
}

void connection::exec(std::string_view sql) {
    const std::string text(sql);
    check(PQexec(conn_.get(), text.c_str()), text.substr(0, text.find(' ')));
}

}  // namespace nidan::storage::pg
