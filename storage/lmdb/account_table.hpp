#pragma once
// nidan::account in the `accounts` table, keyed by portal '\0' selfcare_id (schema.hpp).
// These functions store and load; the rules for what makes a valid account live in core/.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/account/account.hpp"
#include "storage/lmdb/txn.hpp"

namespace nidan::storage {

// nullopt when there is no such account; a value that fails to decode throws storage_corrupt.
std::optional<account> get_account(const txn& t, std::string_view portal, std::string_view selfcare_id);

// Insert or replace. A portal containing '\0' throws storage::error(invalid_input).
void put_account(write_txn& t, const account& a);
// False (nothing written) when (portal, selfcare_id) already exists.
bool insert_account(write_txn& t, const account& a);
// False when there was no such account.
bool erase_account(write_txn& t, std::string_view portal, std::string_view selfcare_id);

// Visits accounts in key order, of one portal or of all portals when `portal` is empty, until
// the callback returns false.
void for_each_account(const txn& t, std::string_view portal, const std::function<bool(const account&)>& visit);

// The value encoding, exposed for tests and tools.
std::string encode_account(const account& a);
account decode_account(std::string_view key, std::string_view value);

}  // namespace nidan::storage
