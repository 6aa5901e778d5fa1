#include "server/cli/cli_options.hpp"

#include <algorithm>

namespace nidan::cli {

bool take_option(std::vector<std::string>& args, const std::string& name, std::string& value) {
    const std::string prefix = name + "=";
    for (auto it = args.begin(); it != args.end(); ++it) {
        if (*it == name) {
            if (std::next(it) == args.end()) throw std::invalid_argument(name + " needs a value");
            value = *std::next(it);
            args.erase(it, std::next(it, 2));
            return true;
        }
        if (it->starts_with(prefix)) {
            value = it->substr(prefix.size());
            args.erase(it);
            return true;
        }
    }
    return false;
}

bool take_flag(std::vector<std::string>& args, const std::string& name) {
    auto it = std::find(args.begin(), args.end(), name);
    if (it == args.end()) return false;
    args.erase(it);
    return true;
}

common_options take_common_options(std::vector<std::string>& args) {
    common_options options;
    std::string value;
    if (take_option(args, "--config", value)) options.config_file = value;
    while (take_option(args, "--set", value)) options.overrides.push_back(parse_override(value));
    return options;
}

config load(const common_options& options) {
    return load_config(options.config_file, options.overrides);
}

}  // namespace nidan::cli
