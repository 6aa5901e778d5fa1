#include "storage/lmdb/schema.hpp"

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"

namespace nidan::storage {

std::optional<MDB_dbi> tables::handle(table_id id) const noexcept {
    for (const table_info& info : all_tables) {
        if (info.id == id) return this->*info.handle;
    }
    return std::nullopt;
}

std::optional<table_id> tables::id_of(MDB_dbi dbi) const noexcept {
    for (const table_info& info : all_tables) {
        if (this->*info.handle == dbi) return info.id;
    }
    return std::nullopt;
}

const char* table_name(table_id id) noexcept {
    for (const table_info& info : all_tables) {
        if (info.id == id) return info.name;
    }
    return "unknown table";
}

namespace {

void append_key_part(std::string& key, std::string_view part, const char* what) {
    if (part.find('\0') != std::string_view::npos) {
        throw error(errc::invalid_input, std::string(what) + " contains a NUL byte");
    }
    key.append(part);
    key.push_back('\0');
}

}  // namespace

std::string account_key(std::string_view portal, std::string_view selfcare_id) {
    std::string key;
    key.reserve(portal.size() + 1 + selfcare_id.size());
    append_key_part(key, portal, "portal");
    key.append(selfcare_id);
    return key;
}

std::pair<std::string_view, std::string_view> split_account_key(std::string_view key) {
    const std::size_t nul = key.find('\0');
    if (nul == std::string_view::npos) throw_corrupt("accounts key: no portal separator");
    return {key.substr(0, nul), key.substr(nul + 1)};
}

std::string counter_key(std::string_view kind, std::string_view subject, std::int64_t window_start) {
    std::string key;
    append_key_part(key, kind, "counter kind");
    // The subject may itself be "portal\0id": it is only ever built, never split, and the window
    // has a fixed width at the end, so an inner NUL is harmless.
    key.append(subject);
    key.push_back('\0');
    append_i64_be(key, window_start);
    return key;
}

std::string outbox_key(std::uint8_t priority, std::int64_t due_time, std::uint64_t seq) {
    std::string key(1, static_cast<char>(priority));
    append_i64_be(key, due_time);
    append_u64_be(key, seq);
    return key;
}

}  // namespace nidan::storage
