#include "server/cli/run_command.hpp"

#include <iostream>
#include <stdexcept>

#include "core/base/error.hpp"

namespace nidan::cli {

int run_command(std::string_view name, std::string_view usage, const std::function<int()>& body) {
    try {
        return body();
    } catch (const config_error& e) {
        std::cerr << "nidan " << name << ": config: " << e.what() << "\n";
        return 2;
    } catch (const std::invalid_argument& e) {
        std::cerr << "nidan " << name << ": " << e.what() << "\n" << usage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "nidan " << name << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace nidan::cli
