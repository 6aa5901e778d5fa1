#pragma once
// `nidan db copy --from-lmdb DIR`: moves a single node's LMDB data folder (accounts, sessions,
// codes, counters, the outbox with its failed list, the server secret) into an empty, migrated
// PostgreSQL database in one transaction, so a deployment grows from one node to many without
// its customers noticing: sessions stay logged in, pending codes stay valid, queued mails keep
// their ids and order, throttling counts carry over.
#include <cstddef>
#include <string>

#include "core/config/config.hpp"

namespace nidan::storage::pg {

struct copy_report {
    std::size_t accounts = 0, sessions = 0, codes = 0, counters = 0, queued_mails = 0, failed_mails = 0, secrets = 0;
};

// lmdb: the source folder's settings (data_dir and the LMDB keys); target: the postgres ones.
// Refuses (storage::error, nothing written) when the target's schema is not current or it
// already holds accounts, sessions or mails. Stop the single node first: what it writes after
// the copy began is not copied.
copy_report copy_from_lmdb(const storage_config& lmdb, const storage_config& target);

}  // namespace nidan::storage::pg
