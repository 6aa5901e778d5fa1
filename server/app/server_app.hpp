#pragma once
// The running server: storage, writer, hash pool, io threads, listener, sweeper and shutdown.
#include <memory>

#include "core/config/config.hpp"

namespace nidan::server {

class server_app {
public:
    // Opens storage, reads templates and static files, binds the listening socket. Throws
    // std::exception with a message naming what failed (and the config key to look at).
    explicit server_app(config cfg);
    ~server_app();
    server_app(const server_app&) = delete;
    server_app& operator=(const server_app&) = delete;

    // Prints "listening on http://HOST:PORT" on stdout, serves until SIGTERM/SIGINT, shuts down
    // gracefully and returns the process exit status.
    int run();

private:
    struct parts;
    std::unique_ptr<parts> parts_;
};

}  // namespace nidan::server
