#pragma once
// The subcommands of the `nidan` binary. Each takes the arguments after its own name and returns
// the process exit status: 0 on success, 1 on failure (one line on stderr), 2 on a usage or
// config error.
#include <string>
#include <vector>

namespace nidan::cli {

int serve_command(std::vector<std::string> args);
int user_command(std::vector<std::string> args);
int outbox_command(std::vector<std::string> args);
int db_command(std::vector<std::string> args);
int mail_command(std::vector<std::string> args);
int routes_command(std::vector<std::string> args);
int hash_command(std::vector<std::string> args);

}  // namespace nidan::cli
