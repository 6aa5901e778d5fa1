#include <iostream>

#include "core/base/clock.hpp"
#include "core/base/log.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"
#include "server/app/server_app.hpp"

namespace nidan::cli {

int serve_command(std::vector<std::string> args) {
    config cfg;
    const int read = run_command("serve", "usage: nidan serve [--config FILE] [--set section.key=value ...]\n", [&] {
        auto options = take_common_options(args);
        if (!args.empty()) throw std::invalid_argument("unexpected argument: " + args.front());
        cfg = load(options);
        log::init(cfg.log);
        // Before any thread starts: it sets TZ.
        set_local_time_zone(cfg.operator_info.timezone);
        return 0;
    });
    if (read != 0) return read;
    // Past the config, a failure to start (a port taken, a file unreadable, even a config_error
    // found only now) is exit 1 and a log line, not a usage error.
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
