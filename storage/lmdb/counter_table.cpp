#include "storage/lmdb/counter_table.hpp"

#include <limits>
#include <optional>
#include <string>

#include "storage/lmdb/codec.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/expiry.hpp"
#include "storage/lmdb/schema.hpp"

namespace nidan::storage {
namespace {

// Format 1: count (u32). The expiry header in front of it holds expires_at.
constexpr std::uint8_t counter_format = 1;

std::string checked_key(std::string_view kind, std::string_view subject, std::int64_t window_start) {
    // Kinds end up in logs and in `nidan` tool output: keep them plain.
    if (kind.empty()) throw error(errc::invalid_input, "counter kind is empty");
    for (const char c : kind) {
        if (c < '!' || c > '~') throw error(errc::invalid_input, "counter kind must be printable ASCII");
    }
    return counter_key(kind, subject, window_start);
}

std::uint32_t decode_count(std::string_view value) {
    value_reader in(value, "counters value");
    if (in.format_version() != counter_format) throw_corrupt("counters value: unknown format version");
    const std::uint32_t count = in.u32();
    in.expect_end();
    return count;
}

}  // namespace

std::uint32_t increment_counter(write_txn& t, std::string_view kind, std::string_view subject,
                                std::int64_t window_start, std::int64_t expires_at) {
    const std::string key = checked_key(kind, subject, window_start);
    const std::optional<expiring_value> old = get_expiring(t, t.dbs().counters, key);
    std::uint32_t count = old ? decode_count(old->payload) : 0;
    // Saturate rather than wrap: a wrapped counter would lift a limit after 2^32 attempts.
    if (count < std::numeric_limits<std::uint32_t>::max()) ++count;
    put_expiring(t, t.dbs().counters, key, value_writer(counter_format).u32(count).bytes(), expires_at);
    return count;
}

std::uint32_t get_counter(const txn& t, std::string_view kind, std::string_view subject,
                          std::int64_t window_start, std::int64_t now) {
    const std::optional<std::string_view> value =
        get_live(t, t.dbs().counters, checked_key(kind, subject, window_start), now);
    return value ? decode_count(*value) : 0;
}

void reset_counter(write_txn& t, std::string_view kind, std::string_view subject, std::int64_t window_start) {
    erase_expiring(t, t.dbs().counters, checked_key(kind, subject, window_start));
}


void for_each_counter(const txn& t, const std::function<bool(const counter_entry&)>& visit) {
    t.for_each_prefix(t.dbs().counters, {}, [&](std::string_view key, std::string_view value) {
        // kind '\0' subject '\0' be64(window): the kind has no '\0', the window is fixed width.
        const auto kind_end = key.find('\0');
        if (kind_end == std::string_view::npos || key.size() < kind_end + 1 + 1 + 8) throw_corrupt("counters key: malformed");
        const auto stored = split_expiring(value);
        counter_entry e;
        e.kind = key.substr(0, kind_end);
        e.subject = key.substr(kind_end + 1, key.size() - kind_end - 1 - 1 - 8);
        e.window_start = read_i64_be(key.substr(key.size() - 8));
        e.count = decode_count(stored.payload);
        e.expires_at = stored.expires_at;
        return visit(e);
    });
}

}  // namespace nidan::storage
