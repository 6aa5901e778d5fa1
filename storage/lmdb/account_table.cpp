#include "storage/lmdb/account_table.hpp"

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/schema.hpp"

namespace nidan::storage {
namespace {

// Format 2: password_hash, email, phone (strings), created_at, updated_at (i64), flags (u8),
// phone_strikes (u32), credential_epoch (u64), pending_email (string), pending_email_at (i64).
// Portal and selfcare_id are not repeated: they are the key. Format 1 ends after phone_strikes
// (epoch 0, no pending address) and has no operator lock bit.
constexpr std::uint8_t account_format = 2;
constexpr std::uint8_t account_format_without_epoch = 1;
constexpr std::uint8_t flag_password_locked = 0x01;
constexpr std::uint8_t flag_address_form_locked = 0x02;
constexpr std::uint8_t flag_operator_locked = 0x04;
constexpr std::uint8_t known_flags = flag_password_locked | flag_address_form_locked | flag_operator_locked;

}  // namespace

std::string encode_account(const account& a) {
    std::uint8_t flags = 0;
    if (a.password_locked) flags |= flag_password_locked;
    if (a.address_form_locked) flags |= flag_address_form_locked;
    if (a.operator_locked) flags |= flag_operator_locked;
    return value_writer(account_format)
        .str(a.password_hash)
        .str(a.email)
        .str(a.phone)
        .i64(a.created_at)
        .i64(a.updated_at)
        .u8(flags)
        .u32(a.phone_strikes)
        .u64(a.credential_epoch)
        .str(a.pending_email)
        .i64(a.pending_email_at)
        .take();
}

account decode_account(std::string_view key, std::string_view value) {
    value_reader in(value, "accounts value");
    const auto format = in.format_version();
    if (format != account_format && format != account_format_without_epoch)
        throw_corrupt("accounts value: unknown format version");
    account a;
    const auto [portal, selfcare_id] = split_account_key(key);
    a.portal = portal;
    a.selfcare_id = selfcare_id;
    a.password_hash = in.str();
    a.email = in.str();
    a.phone = in.str();
    a.created_at = in.i64();
    a.updated_at = in.i64();
    const std::uint8_t flags = in.u8();
    const std::uint8_t allowed = format == account_format ? known_flags : known_flags & ~flag_operator_locked;
    if ((flags & ~allowed) != 0) throw_corrupt("accounts value: unknown flag bits");
    a.password_locked = (flags & flag_password_locked) != 0;
    a.address_form_locked = (flags & flag_address_form_locked) != 0;
    a.operator_locked = (flags & flag_operator_locked) != 0;
    a.phone_strikes = in.u32();
    if (format == account_format) {
        a.credential_epoch = in.u64();
        a.pending_email = in.str();
        a.pending_email_at = in.i64();
    }
    in.expect_end();
    return a;
}

std::optional<account> get_account(const txn& t, std::string_view portal, std::string_view selfcare_id) {
    const std::string key = account_key(portal, selfcare_id);
    const std::optional<std::string_view> value = t.get(t.dbs().accounts, key);
    if (!value) return std::nullopt;
    return decode_account(key, *value);
}

void put_account(write_txn& t, const account& a) {
    t.put(t.dbs().accounts, account_key(a.portal, a.selfcare_id), encode_account(a));
}

bool insert_account(write_txn& t, const account& a) {
    return t.insert(t.dbs().accounts, account_key(a.portal, a.selfcare_id), encode_account(a));
}

bool erase_account(write_txn& t, std::string_view portal, std::string_view selfcare_id) {
    return t.erase(t.dbs().accounts, account_key(portal, selfcare_id));
}

void for_each_account(const txn& t, std::string_view portal, const std::function<bool(const account&)>& visit) {
    // "portal\0" so that portal "mc05" does not also list "mc050".
    const std::string prefix = portal.empty() ? std::string() : account_key(portal, {});
    t.for_each_prefix(t.dbs().accounts, prefix, [&](std::string_view key, std::string_view value) {
        return visit(decode_account(key, value));
    });
}

}  // namespace nidan::storage
