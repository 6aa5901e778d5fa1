#pragma once
// Login sessions in the `sessions` table, keyed by the SHA-256 of the session id: the id itself
// (the cookie value) is never stored, so a copy of the data folder cannot be used to log in.
// The caller hashes; these functions only check the hash's size.
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/login/login_records.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

inline constexpr std::size_t session_hash_size = 32;

// The record is core's (core/login/login_records.hpp): the login flow decides, this table keeps it.
using nidan::session_record;
using nidan::session_state;

// Insert or replace; the entry expires (and is swept) at min(idle_expires_at,
// absolute_expires_at). An id_hash that is not session_hash_size bytes, or a state outside
// session_state, throws storage::error(invalid_input).
void put_session(write_txn& t, std::string_view id_hash, const session_record& s);

// nullopt when absent or when `now` (unix seconds) has reached either expiry. A value that fails
// to decode throws storage_corrupt.
std::optional<session_record> get_session(const txn& t, std::string_view id_hash, std::int64_t now);

// False when there was no such session (expired but not yet swept still counts as present).
bool erase_session(write_txn& t, std::string_view id_hash);

// The live sessions of one account at `now`, each with its id hash, in hash order. It scans the
// whole table: for operator commands, never for a request.
std::vector<std::pair<std::string, session_record>> sessions_of(const txn& t, std::string_view portal,
                                                                std::string_view selfcare_id, std::int64_t now);

// Every stored session, expired or not, in hash order (`nidan db copy`); false stops.
void for_each_session(const txn& t, const std::function<bool(std::string_view id_hash, const session_record&)>& visit);
// The value encoding (without the expiry header), exposed for tests and tools.
std::string encode_session(const session_record& s);
session_record decode_session(std::string_view value);

}  // namespace nidan::storage
