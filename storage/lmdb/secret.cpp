#include "storage/lmdb/secret.hpp"

#include <sodium.h>

#include <utility>

#include "storage/error.hpp"
#include "storage/lmdb/schema.hpp"
#include "core/base/sodium.hpp"

namespace nidan::storage {
namespace {

void check_name(std::string_view name) {
    // The other meta entries hold counters and versions; overwriting them with random bytes
    // would corrupt the data folder.
    if (name.empty() || name == meta_schema_version || name == meta_outbox_seq) {
        throw error(errc::invalid_input, "secret name is empty or reserved");
    }
}

std::string random_bytes(std::size_t bytes) {
    ensure_sodium();
    std::string secret(bytes, '\0');
    randombytes_buf(secret.data(), secret.size());
    return secret;
}

}  // namespace

std::optional<std::string> get_secret(const txn& t, std::string_view name) {
    check_name(name);
    const std::optional<std::string_view> stored = t.get(t.dbs().meta, name);
    if (!stored) return std::nullopt;
    return std::string(*stored);
}

bool erase_secret(write_txn& t, std::string_view name) {
    check_name(name);
    return t.erase(t.dbs().meta, name);
}

std::string get_or_create_secret(write_txn& t, std::string_view name, std::size_t bytes) {
    if (bytes == 0) throw error(errc::invalid_input, "secret size must be positive");
    std::optional<std::string> secret = get_secret(t, name);
    if (secret) {
        if (secret->size() != bytes) throw_corrupt("meta " + std::string(name) + ": secret has the wrong size");
        return std::move(*secret);
    }
    std::string fresh = random_bytes(bytes);
    t.put(t.dbs().meta, name, fresh);
    return fresh;
}

}  // namespace nidan::storage
