#include "storage/lmdb/session_table.hpp"

#include <algorithm>

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/expiry.hpp"

namespace nidan::storage {
namespace {

// Format 2: portal, selfcare_id (strings), state (u8), created_at, last_seen, idle_expires_at,
// absolute_expires_at (i64), csrf_secret (string), credential_epoch (u64). Format 1 had an
// unused string where the epoch is now; it reads as epoch 0.
constexpr std::uint8_t session_format = 2;
constexpr std::uint8_t session_format_without_epoch = 1;

void check_hash(std::string_view id_hash) {
    if (id_hash.size() != session_hash_size) {
        throw error(errc::invalid_input, "session id hash must be 32 bytes");
    }
}

bool known_state(std::uint8_t state) {
    return state == static_cast<std::uint8_t>(session_state::code_pending) ||
           state == static_cast<std::uint8_t>(session_state::authenticated);
}

}  // namespace

std::string encode_session(const session_record& s) {
    if (!known_state(static_cast<std::uint8_t>(s.state))) {
        throw error(errc::invalid_input, "session state out of range");
    }
    return value_writer(session_format)
        .str(s.portal)
        .str(s.selfcare_id)
        .u8(static_cast<std::uint8_t>(s.state))
        .i64(s.created_at)
        .i64(s.last_seen)
        .i64(s.idle_expires_at)
        .i64(s.absolute_expires_at)
        .str(s.csrf_secret)
        .u64(s.credential_epoch)
        .take();
}

session_record decode_session(std::string_view value) {
    value_reader in(value, "sessions value");
    const auto format = in.format_version();
    if (format != session_format && format != session_format_without_epoch)
        throw_corrupt("sessions value: unknown format version");
    session_record s;
    s.portal = in.str();
    s.selfcare_id = in.str();
    const std::uint8_t state = in.u8();
    if (!known_state(state)) throw_corrupt("sessions value: unknown state");
    s.state = static_cast<session_state>(state);
    s.created_at = in.i64();
    s.last_seen = in.i64();
    s.idle_expires_at = in.i64();
    s.absolute_expires_at = in.i64();
    s.csrf_secret = in.str();
    if (format == session_format)
        s.credential_epoch = in.u64();
    else
        in.str();
    in.expect_end();
    return s;
}

void put_session(write_txn& t, std::string_view id_hash, const session_record& s) {
    check_hash(id_hash);
    put_expiring(t, t.dbs().sessions, id_hash, encode_session(s),
                 std::min(s.idle_expires_at, s.absolute_expires_at));
}

std::optional<session_record> get_session(const txn& t, std::string_view id_hash, std::int64_t now) {
    check_hash(id_hash);
    const std::optional<std::string_view> value = get_live(t, t.dbs().sessions, id_hash, now);
    if (!value) return std::nullopt;
    session_record s = decode_session(*value);
    // The header already says min(idle, absolute); checking the fields too keeps a hand-edited
    // or mismatched header from extending a session.
    if (now >= s.idle_expires_at || now >= s.absolute_expires_at) return std::nullopt;
    return s;
}

bool erase_session(write_txn& t, std::string_view id_hash) {
    check_hash(id_hash);
    return erase_expiring(t, t.dbs().sessions, id_hash);
}

std::vector<std::pair<std::string, session_record>> sessions_of(const txn& t, std::string_view portal,
                                                                std::string_view selfcare_id, std::int64_t now) {
    std::vector<std::pair<std::string, session_record>> found;
    t.for_each_prefix(t.dbs().sessions, {}, [&](std::string_view key, std::string_view) {
        if (auto s = get_session(t, key, now); s && s->portal == portal && s->selfcare_id == selfcare_id)
            found.emplace_back(std::string(key), std::move(*s));
        return true;
    });
    return found;
}


void for_each_session(const txn& t, const std::function<bool(std::string_view id_hash, const session_record&)>& visit) {
    t.for_each_prefix(t.dbs().sessions, {}, [&](std::string_view key, std::string_view value) {
        return visit(key, decode_session(split_expiring(value).payload));
    });
}

}  // namespace nidan::storage
