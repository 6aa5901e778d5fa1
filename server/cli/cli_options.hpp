#pragma once
// The options every subcommand shares: --config FILE and --set section.key=value (repeatable).
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace nidan::cli {

struct common_options {
    std::filesystem::path config_file;  // empty: embedded defaults only
    std::vector<config_override> overrides;
};

// Removes --config/--set (and their values, also in the --opt=value form) from args and returns
// them. Throws std::invalid_argument when a value is missing.
common_options take_common_options(std::vector<std::string>& args);

// load_config() for the options above.
config load(const common_options& options);

// Takes "--name VALUE" or "--name=VALUE" out of args. Returns empty optional-like "" + false
// when absent; throws std::invalid_argument when the value is missing.
bool take_option(std::vector<std::string>& args, const std::string& name, std::string& value);
// Takes a flag "--name" out of args; true when it was there.
bool take_flag(std::vector<std::string>& args, const std::string& name);

}  // namespace nidan::cli
