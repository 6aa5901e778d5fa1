// `nidan routes`: every route the server would serve with this config, from the same table the
// router is filled from (server/http/route_table.hpp): method, path, what it is.
#include <iostream>

#include "core/render/message_catalog.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"
#include "server/http/route_table.hpp"

namespace nidan::cli {

int routes_command(std::vector<std::string> args) {
    return run_command("routes", "usage: nidan routes [--config FILE] [--set section.key=value ...]\n", [&] {
        auto options = take_common_options(args);
        if (!args.empty()) throw std::invalid_argument("unexpected argument: " + args.front());
        const auto cfg = load(options);
        // The language switch has a route per catalog.
        const auto catalogs = render::message_catalogs::load(cfg.server.templates_dir / "lang", cfg.operator_info.language);
        std::cout << server::describe(server::route_table(cfg, catalogs.tags()));
        return 0;
    });
}

}  // namespace nidan::cli
