#pragma once
// The one place where a subcommand's failure becomes its exit status and its stderr line (the
// policy in core/base/error.hpp): config_error -> 2 ("nidan NAME: config: ..."), a usage error
// (std::invalid_argument) -> 2 with the command's usage, any other exception -> 1 with one line
// "nidan NAME: what". The body returns its own status otherwise (0, or 1 after saying why).
#include <functional>
#include <string_view>

namespace nidan::cli {

int run_command(std::string_view name, std::string_view usage, const std::function<int()>& body);

}  // namespace nidan::cli
