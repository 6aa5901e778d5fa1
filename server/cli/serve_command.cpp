#include <iostream>

#include "core/base/log.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "core/base/clock.hpp"
#include "server/app/server_app.hpp"

namespace nidan::cli {

int serve_command(std::vector<std::string> args) {
    config cfg;
    try {
        auto options = take_common_options(args);
        if (!args.empty()) throw std::invalid_argument("unexpected argument: " + args.front());
        cfg = load(options);
        log::init(cfg.log);
        // Before any thread starts: it sets TZ.
        set_local_time_zone(cfg.operator_info.timezone);
    } catch (const config_error& e) {
        std::cerr << "nidan serve: config: " << e.what() << "\n";
        return 2;
    } catch (const std::invalid_argument& e) {
        std::cerr << "nidan serve: " << e.what() << "\nusage: nidan serve [--config FILE] [--set section.key=value ...]\n";
        return 2;
    }
    try {
        server::server_app app(std::move(cfg));
        return app.run();
    } catch (const config_error& e) {
        log::error("server.start_failed").add("key", e.key()).add("error", e.what());
        std::cerr << "nidan serve: cannot start: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        log::error("server.start_failed").add("error", e.what());
        std::cerr << "nidan serve: cannot start: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace nidan::cli
