// `nidan db migrate|status`: the storage schema. With storage.backend = "postgres" the schema
// is created or upgraded by `migrate`, which every new version of nidan may need before its
// servers start (they refuse a schema they do not know); LMDB data folders upgrade themselves.
#include <iostream>

#include "core/base/log.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"
#include "storage/open/schema_admin.hpp"

namespace nidan::cli {
namespace {

constexpr const char* db_usage = R"(usage:
  nidan db status    the schema version the store holds and the one this nidan needs
  nidan db migrate   create or upgrade the schema (safe while other nodes start or run)
  nidan db copy --from-lmdb DIR
                     copy a stopped single node's LMDB data folder into the (empty, migrated)
                     PostgreSQL database that storage.postgres_url names
all also take --config FILE and --set section.key=value
)";

}  // namespace

int db_command(std::vector<std::string> args) {
    return run_command("db", db_usage, [&]() -> int {
        auto options = take_common_options(args);
        if (args.empty()) throw std::invalid_argument("missing db command");
        const auto cfg = load(options);
        log::init(cfg.log);
        if (args.front() == "copy") {
            if (args.size() != 3 || args[1] != "--from-lmdb") throw std::invalid_argument("copy takes --from-lmdb DIR");
            if (cfg.storage.backend != storage_backend::postgres)
                throw config_error("storage.backend", "must be \"postgres\" for db copy: the copy goes into storage.postgres_url");
            auto source = cfg.storage;
            source.backend = storage_backend::lmdb;
            source.data_dir = args[2];
            const auto r = storage::copy_lmdb_into_postgres(source, cfg.storage);
            std::cout << "copied " << r.accounts << " accounts, " << r.sessions << " sessions, " << r.codes << " codes, "
                      << r.counters << " counters, " << r.queued_mails << " queued and " << r.failed_mails
                      << " failed mails, " << r.secrets << " secrets\n";
            log::audit("db.copied").add("actor", "cli").add("from", source.data_dir.string())
                .add("accounts", static_cast<std::uint64_t>(r.accounts)).add("sessions", static_cast<std::uint64_t>(r.sessions))
                .add("mails", static_cast<std::uint64_t>(r.queued_mails + r.failed_mails));
            return 0;
        }
        if (args.size() != 1) throw std::invalid_argument("unexpected argument: " + args[1]);
        if (args.front() == "status") {
            const auto s = storage::schema_status(cfg.storage);
            std::cout << "backend: " << s.backend << "\nschema version: " << s.stored << "\nthis nidan needs: " << s.current
                      << "\n";
            if (s.problem) {
                std::cout << *s.problem << "\n";
                return 1;
            }
            std::cout << "up to date\n";
            return 0;
        }
        if (args.front() == "migrate") {
            const auto s = storage::migrate_schema(cfg.storage);
            if (s.stored == s.current) {
                std::cout << "schema version " << s.current << ": up to date, nothing to do\n";
            } else {
                std::cout << "schema version " << s.stored << " -> " << s.current << "\n";
                log::audit("db.migrated").add("actor", "cli").add("backend", s.backend).add("from", s.stored).add("to", s.current);
            }
            return 0;
        }
        throw std::invalid_argument("unknown db command '" + args.front() + "'");
    });
}

}  // namespace nidan::cli
