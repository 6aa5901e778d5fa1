// nidan: the two-step login server and its operator commands.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "server/cli/commands.hpp"

namespace {

constexpr const char* usage = R"(usage: nidan COMMAND [options]

commands:
  serve   run the server            nidan serve --config FILE [--set section.key=value ...]
  user    manage accounts           nidan user add|show|list|passwd|unlock|delete|import ...
  outbox  the mail queue            nidan outbox list|retry|purge ...
  db      the storage schema        nidan db status|migrate
  mail    check the relay settings  nidan mail test --to ADDRESS
  routes  every route it serves     nidan routes
  hash    size Argon2id here        nidan hash calibrate [--target-ms N] [--memory-kib M]
  help    this text

Every command takes --config FILE and --set section.key=value (repeatable).
)";

}  // namespace

int main(int argc, char** argv) {
    // A peer that closed its socket must not kill the process on the next write.
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args.front() == "help" || args.front() == "--help" || args.front() == "-h") {
        std::cout << usage;
        return args.empty() ? 2 : 0;
    }
    const std::string command = args.front();
    args.erase(args.begin());
    if (command == "serve") return nidan::cli::serve_command(std::move(args));
    if (command == "user") return nidan::cli::user_command(std::move(args));
    if (command == "outbox") return nidan::cli::outbox_command(std::move(args));
    if (command == "db") return nidan::cli::db_command(std::move(args));
    if (command == "mail") return nidan::cli::mail_command(std::move(args));
    if (command == "routes") return nidan::cli::routes_command(std::move(args));
    if (command == "hash") return nidan::cli::hash_command(std::move(args));
    std::cerr << "nidan: unknown command '" << command << "'\n" << usage;
    return 2;
}
