#include "storage/lmdb/code_table.hpp"

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/expiry.hpp"
#include "storage/lmdb/schema.hpp"
#include "storage/lmdb/session_table.hpp"

namespace nidan::storage {
namespace {

// Format 2: mac (string), issued_at (i64), attempts_left (u32), target_email (string),
// purpose (u8), session_hash (string), credential_epoch (u64). expires_at is the expiry header in
// front of it. Format 1 is format 2 without the epoch (read as 0).
constexpr std::uint8_t code_format = 2;
constexpr std::uint8_t code_format_without_epoch = 1;

bool known_purpose(std::uint8_t purpose) {
    return purpose == static_cast<std::uint8_t>(code_purpose::login) ||
           purpose == static_cast<std::uint8_t>(code_purpose::address_change);
}

void check_record(const code_record& c) {
    if (c.mac.size() != code_mac_size) throw error(errc::invalid_input, "code MAC must be 32 bytes");
    if (c.session_hash.size() != session_hash_size) {
        throw error(errc::invalid_input, "code session hash must be 32 bytes");
    }
    if (!known_purpose(static_cast<std::uint8_t>(c.purpose))) {
        throw error(errc::invalid_input, "code purpose out of range");
    }
}

std::string encode_code(const code_record& c) {
    return value_writer(code_format)
        .str(c.mac)
        .i64(c.issued_at)
        .u32(c.attempts_left)
        .str(c.target_email)
        .u8(static_cast<std::uint8_t>(c.purpose))
        .str(c.session_hash)
        .u64(c.credential_epoch)
        .take();
}

code_record decode_code(std::string_view value, std::int64_t expires_at) {
    value_reader in(value, "codes value");
    const auto format = in.format_version();
    if (format != code_format && format != code_format_without_epoch)
        throw_corrupt("codes value: unknown format version");
    code_record c;
    c.mac = in.str();
    if (c.mac.size() != code_mac_size) throw_corrupt("codes value: MAC of the wrong size");
    c.issued_at = in.i64();
    c.expires_at = expires_at;
    c.attempts_left = in.u32();
    c.target_email = in.str();
    const std::uint8_t purpose = in.u8();
    if (!known_purpose(purpose)) throw_corrupt("codes value: unknown purpose");
    c.purpose = static_cast<code_purpose>(purpose);
    c.session_hash = in.str();
    if (c.session_hash.size() != session_hash_size) throw_corrupt("codes value: session hash of the wrong size");
    if (format == code_format) c.credential_epoch = in.u64();
    in.expect_end();
    return c;
}

}  // namespace

void put_code(write_txn& t, std::string_view portal, std::string_view selfcare_id, const code_record& c) {
    check_record(c);
    put_expiring(t, t.dbs().codes, account_key(portal, selfcare_id), encode_code(c), c.expires_at);
}

std::optional<code_record> get_code_any(const txn& t, std::string_view portal, std::string_view selfcare_id) {
    const std::optional<expiring_value> entry = get_expiring(t, t.dbs().codes, account_key(portal, selfcare_id));
    if (!entry) return std::nullopt;
    return decode_code(entry->payload, entry->expires_at);
}

std::optional<code_record> get_code(const txn& t, std::string_view portal, std::string_view selfcare_id,
                                    std::int64_t now) {
    std::optional<code_record> c = get_code_any(t, portal, selfcare_id);
    if (!c || now >= c->expires_at) return std::nullopt;
    return c;
}

bool erase_code(write_txn& t, std::string_view portal, std::string_view selfcare_id) {
    return erase_expiring(t, t.dbs().codes, account_key(portal, selfcare_id));
}


void for_each_code(const txn& t,
                   const std::function<bool(std::string_view portal, std::string_view id, const code_record&)>& visit) {
    t.for_each_prefix(t.dbs().codes, {}, [&](std::string_view key, std::string_view value) {
        const auto [portal, id] = split_account_key(key);
        const auto stored = split_expiring(value);
        return visit(portal, id, decode_code(stored.payload, stored.expires_at));
    });
}

}  // namespace nidan::storage
