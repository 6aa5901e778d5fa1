#pragma once
// A private PostgreSQL 15 cluster for the tests that run on storage.backend = "postgres": one per
// test executable, created on first use in a temp folder, listening on a free 127.0.0.1 port
// (and a Unix socket in that folder only), trust authentication for the user `nidan`, stopped
// and removed when the executable exits. Each login_world asks it for a database of its own,
// so tests stay as independent as with their own LMDB folders.
//
// initdb and postgres refuse to run as root (CI runs as root): then they run as the `postgres`
// user through runuser. Durability is switched off (fsync, synchronous_commit): the tests never
// crash the machine, and it keeps a suite's many small transactions fast on 2 cores.
//
// NIDAN_TEST_BACKEND=postgres (set by ctest for the integration_pg.* entries) selects the
// backend; anything else, or unset, is LMDB.
#include <libpq-fe.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "nidan_test/postgres_registry.hpp"
#include "nidan_test/process.hpp"
#include "nidan_test/temp_dir.hpp"

namespace nidan_test {

inline bool postgres_backend_selected() {
    const char* b = std::getenv("NIDAN_TEST_BACKEND");
    return b && std::string(b) == "postgres";
}

class postgres_server {
public:
    static constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";

    postgres_server() {
        const bool root = ::geteuid() == 0;
        if (root) {
            const passwd* pg = ::getpwnam("postgres");
            if (!pg) throw std::runtime_error("postgres_server: running as root but there is no postgres user");
            if (::chown(dir_.path().c_str(), pg->pw_uid, pg->pw_gid) != 0)
                throw std::runtime_error("postgres_server: cannot chown the cluster folder");
            as_ = "runuser -u postgres -- ";
        }
        shell(as_ + bin_dir + "/initdb -D " + data() + " -A trust -U nidan --no-sync >" + log_file() + " 2>&1", "initdb",
              log_file());
        // A port that was free a moment ago; another process may take it first, so a few tries.
        for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
            const auto port = free_port();
            if (start_on(port)) port_ = port;
        }
        if (port_ == 0) throw std::runtime_error("postgres_server: pg_ctl start failed: see " + log_file());
    }
    ~postgres_server() { stop(); }
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    unsigned short port() const { return port_; }
    std::string url(const std::string& database = "postgres") const {
        return "postgresql://nidan@127.0.0.1:" + std::to_string(port_) + "/" + database;
    }

    // For the fault tests: stop() shuts the cluster down ("fast": open connections are ended,
    // as a database restart does to its clients) and returns once it is down; start() brings it
    // back on the same port and throws when it does not come up. Databases made before survive.
    void stop() {
        const auto command = as_ + bin_dir + "/pg_ctl -D " + data() + " -w -t 20 -m fast stop >/dev/null 2>&1";
        (void)!std::system(command.c_str());
    }
    void start() {
        if (!start_on(port_))
            throw std::runtime_error("postgres_server: restart on port " + std::to_string(port_) + " failed: see " + log_file());
    }

    // A new empty database (no schema: the caller runs `nidan db migrate`); its URL.
    std::string create_database() {
        static std::atomic<unsigned> next{0};
        const auto name = "t" + std::to_string(::getpid()) + "_" + std::to_string(next++);
        execute(url(), "CREATE DATABASE " + name);
        return url(name);
    }

    // Runs one SQL command on `url`; throws with the server's message on failure.
    static void execute(const std::string& url, const std::string& sql) {
        std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(url.c_str()), &PQfinish);
        if (!c || PQstatus(c.get()) != CONNECTION_OK)
            throw std::runtime_error("postgres_server: cannot connect to " + url + ": " + PQerrorMessage(c.get()));
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
        const auto status = PQresultStatus(r.get());
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            throw std::runtime_error("postgres_server: " + sql + ": " + PQerrorMessage(c.get()));
    }

    // Runs one query on `url`: every row, every column as text (NULL as ""); throws on failure.
    static std::vector<std::vector<std::string>> query(const std::string& url, const std::string& sql) {
        std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(url.c_str()), &PQfinish);
        if (!c || PQstatus(c.get()) != CONNECTION_OK)
            throw std::runtime_error("postgres_server: cannot connect to " + url + ": " + PQerrorMessage(c.get()));
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
        if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
            throw std::runtime_error("postgres_server: " + sql + ": " + PQerrorMessage(c.get()));
        std::vector<std::vector<std::string>> rows(static_cast<std::size_t>(PQntuples(r.get())));
        for (int i = 0; i < PQntuples(r.get()); ++i)
            for (int j = 0; j < PQnfields(r.get()); ++j) rows[static_cast<std::size_t>(i)].emplace_back(PQgetvalue(r.get(), i, j));
        return rows;
    }

private:
    std::string data() const { return (dir_ / "data").string(); }
    std::string log_file() const { return (dir_ / "setup.log").string(); }

    bool start_on(unsigned short port) const {
        const auto opts = "-p " + std::to_string(port) + " -k " + dir_.path().string() +
                          " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                          " -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB";
        const auto command = as_ + bin_dir + "/pg_ctl -D " + data() + " -l " + (dir_ / "server.log").string() +
                             " -w -t 30 -o '" + opts + "' start >>" + log_file() + " 2>&1";
        return std::system(command.c_str()) == 0;
    }

    static void shell(const std::string& command, const char* what, const std::string& log) {
        if (std::system(command.c_str()) != 0)
            throw std::runtime_error(std::string("postgres_server: ") + what + " failed: see " + log);
    }

    static unsigned short free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("postgres_server: no free port");
        }
        ::close(fd);
        return ntohs(a.sin_port);
    }

    temp_dir dir_;
    std::string as_;
    unsigned short port_ = 0;
};

// The executable's cluster, started on first use, stopped at exit.
inline postgres_server& shared_postgres() {
    static postgres_server server;
    return server;
}

// NIDAN_TEST_BACKEND=postgres: gives the data folder a migrated database of its own, which
// run_nidan() and server_process then use for every command on that folder. True when it did.
inline bool use_postgres_if_selected(const std::filesystem::path& data_dir) {
    if (!postgres_backend_selected()) return false;
    register_postgres_url(data_dir.string(), shared_postgres().create_database());
    const auto migrated = run_nidan({"db", "migrate", "--config", source_dir() + "/conf/nidan.toml", "--set",
                                     "storage.data_dir=" + data_dir.string()},
                                    "", std::chrono::seconds(30));
    if (migrated.exit_code != 0) throw std::runtime_error("nidan db migrate: " + migrated.err + migrated.out);
    return true;
}

}  // namespace nidan_test
