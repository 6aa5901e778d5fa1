#pragma once
// Login and address-change codes in the `codes` table: at most one live code per account, keyed
// by account_key(portal, selfcare_id). Issuing a new code replaces (and so kills) the previous
// one. Only the code's MAC is stored, never the code itself.
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/login/login_records.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

inline constexpr std::size_t code_mac_size = 32;

// The record is core's (core/login/login_records.hpp). expires_at is stored as the entry's expiry
// header, not repeated in the value.
using nidan::code_purpose;
using nidan::code_record;

// Insert or replace; the entry expires (and is swept) at expires_at. A mac or session_hash of
// the wrong size, a purpose outside code_purpose or a portal with '\0' throw invalid_input.
void put_code(write_txn& t, std::string_view portal, std::string_view selfcare_id, const code_record& c);

// The live code, or nullopt when absent or when `now` (unix seconds) has reached expires_at.
std::optional<code_record> get_code(const txn& t, std::string_view portal, std::string_view selfcare_id,
                                    std::int64_t now);

// The stored code whether or not it has expired, so the caller can tell "expired, log in again"
// from "wrong code". Best effort only: sweep_expired() may already have removed an expired code,
// after which this returns nullopt just as if none had been issued.
std::optional<code_record> get_code_any(const txn& t, std::string_view portal, std::string_view selfcare_id);

// Every stored code, expired or not, in key order (`nidan db copy`); false stops.
void for_each_code(const txn& t,
                   const std::function<bool(std::string_view portal, std::string_view id, const code_record&)>& visit);
// False when there was no code (an expired, unswept one counts as present).
bool erase_code(write_txn& t, std::string_view portal, std::string_view selfcare_id);

}  // namespace nidan::storage
