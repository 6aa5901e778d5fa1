// The full two-step login under load, over the JSON API, against the real `nidan serve`:
// POST /api/v1/<portal>/login, the code read from the mail at an SMTP sink of our own,
// POST /api/v1/<portal>/code with the bearer token. Prints figures; asserts nothing.
//
//   bench_login_load [--hash fast|minimal|shipped] [--accounts N] [--clients C] [--seconds S] [--rounds R]
//                    [--max-logins M] [--wrong-share F] [--few-addresses K] [--victims V]
//                    [--attackers A] [--nidan PATH] [--set key=value]... [--summary FILE]
//                    [--nodes N] [--pin-cores C0,C1,...] [--postgres-data DIR]
//                    [--idle-connections N] [--idle-binary PATH]
//
// --idle-connections N: the baseline alternates (ABBA, --rounds) with the same load while N idle
// keep-alive connections are held open to the (first) server by bench_idle_connections (next to
// this program, or --idle-binary), from 127.0.0.2 and up, 200 per address and at most 19000 per
// process (the open-files limit of one process), started before and stopped after each stretch
// of such phases. The server gets server.max_connections = N + 1000 (at least the shipped value)
// and server.idle_timeout_ms = 600000 before the --set ones; the open-files limit is raised to
// the hard one for this process and its children. Reports the server's VmRSS before and with
// them, per connection and projected to 50,000; wrong passwords are not sent then.
//
// With --set storage.backend=postgres (and storage.postgres_url, a migrated empty database),
// --nodes N starts N servers on that one database and the clients spread over them (client i on
// node i % N, and so its accounts' logins); --pin-cores pins node i to core Ci
// (sched_setaffinity, as taskset does). --postgres-data names the cluster's data folder: its
// postmaster.pid gives the processes whose CPU counts as the database's. Each phase then also
// reports, per completed login: the servers' CPU, the database's CPU, the database's
// transactions (pg_stat_database xact_commit + xact_rollback; PostgreSQL publishes a backend's
// counts up to a second late, so the phase edges blur a little) and nidan's own storage jobs
// (from the nodes' /metrics: nidan_storage_transactions_total + errors_total, and the mean of
// nidan_storage_db_seconds, BEGIN to COMMIT on a connection).
//
// One run: a temporary data folder, N accounts over the three portals imported with
// `nidan user import` (one Argon2id hash made here with the server's own parameters, so the
// import hashes nothing and no login re-hashes), the SMTP sink on 127.0.0.1, then the server with
// server.trusted_proxies=127.0.0.1 so every virtual client sends its own X-Forwarded-For address
// (header text only: all traffic stays on 127.0.0.1). After a 1 s warm-up that is not reported,
// three kinds of load, S seconds each (and at most M password attempts per stretch):
//   - baseline: C clients log in, nothing else;
//   - unthrottled attack: the same plus wrong passwords making share F of all password attempts,
//     for any account, from 254 addresses of 192.0.2.0/24: too few failures per address and per
//     account to be delayed, so this is the raw cost of a wrong password (an Argon2id verify and
//     counter writes in LMDB). Baseline and attack alternate in R rounds (ABBA), so the drift of
//     a shared machine falls on both alike and their ratio is measured in one run;
//   - throttled attack, last: share F from K addresses of 203.0.113.0/24 at V victim accounts,
//     which soon reach the per-address delays (10 free failures, then 1 s doubling to 30 s) and
//     the per-account ones (5 free, then 1 s doubling to 60 s).
// Legit client i owns the accounts i, i+C, i+2C ... below the victims and sends from
// 198.51.100.(1 + i % 254), so no two clients ever wait for a code of the same account and no
// throttle delay ever lands on a legit login. Wrong passwords (a known ID, a wrong password) go
// over A attacker connections, which keep the share by issuing only while wrong/(wrong+legit)
// attempts is below F. Machines are shared: compare the ratios measured within one run, not
// absolute figures between runs.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <libpq-fe.h>
#include <sodium.h>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config/config.hpp"
#include "core/security/password_hasher.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
template <class T>
using awaitable = net::awaitable<T>;

constexpr auto as_result = net::as_tuple(net::use_awaitable);

constexpr std::string_view account_password = "Load-Bench passphrase 7";
constexpr std::string_view wrong_password = "Load-Bench passphrase 8";
constexpr std::string_view code_marker = "■ログイン認証コード";

// Every wait has an end. A legit request takes well under a second even under this load; these
// only stop a client that would otherwise hang, and such a request counts as "no answer".
constexpr auto request_timeout = std::chrono::seconds(15);
constexpr auto mail_timeout = std::chrono::seconds(10);
// A wrong password still held back by the throttle this long after the phase's end is abandoned
// (counted as "cut"): a 30 s delay must not stretch the phase.
constexpr auto attack_grace = std::chrono::milliseconds(500);
// After a refusal a legit client pauses, so a server that refuses at once cannot make it spin.
constexpr auto pause_after_refusal = std::chrono::milliseconds(20);
constexpr auto attacker_poll = std::chrono::milliseconds(2);
constexpr double warm_up_seconds = 1.0;
constexpr double slowed_ms = 900;  // a wrong password answered later than this was delayed

// ---------------------------------------------------------------------------------------------
// options

// fast: a cheap but real Argon2id; minimal: the least the config allows (8 KiB, 1 pass), so the
// figures show the server's own cost of a login with next to no hashing; shipped: as conf/.
enum class hash_choice { fast, minimal, shipped };

struct options {
    hash_choice hash = hash_choice::fast;
    unsigned accounts = 2000;
    unsigned clients = 32;
    double seconds = 5.0;         // measured per kind of phase
    unsigned rounds = 3;          // the baseline and the unthrottled attack alternate this often
    unsigned max_logins = 20000;  // password attempts per phase, next to the time bound
    double wrong_share = 0.10;
    unsigned few_addresses = 4;
    unsigned victims = 8;  // accounts the few-address attack aims at; no legit client uses them
    unsigned attackers = 8;  // attacker connections
    std::string nidan;       // "" -> ../nidan next to this program (build/bench/ -> build/)
    std::vector<std::string> overrides;
    std::string summary;  // "" -> none; else one tab-separated line per phase, for login_load.sh
    unsigned nodes = 1;             // servers on one database (PostgreSQL only beyond 1)
    std::vector<int> pin_cores;     // node i on core pin_cores[i]; empty: not pinned
    std::string postgres_data;      // the cluster's data folder, for its CPU; "" -> not measured
    unsigned idle_connections = 0;  // held open during the "idle connections" phases; 0: none
    std::string idle_binary;        // "" -> bench_idle_connections next to this program
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "bench_login_load: %s\n"
                 "usage: bench_login_load [--hash fast|minimal|shipped] [--accounts N (10-100000)] [--clients C (1-256)]\n"
                 "         [--seconds S (0.5-120)] [--rounds R (1-20)] [--max-logins M (1-1000000)]\n"
                 "         [--wrong-share F (0-0.9)]"
                 " [--few-addresses K (1-254)] [--victims V (1-1000)] [--attackers A (1-64)]\n"
                 "         [--nidan PATH]"
                 " [--set section.key=value]... [--summary FILE]\n"
                 "         [--nodes N (1-3)] [--pin-cores C0,C1,...] [--postgres-data DIR]\n"
                 "         [--idle-connections N (0-1000000)] [--idle-binary PATH]\n",
                 why.c_str());
    std::exit(2);
}

double number_in(const std::string& text, double low, double high, const std::string& flag) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || v < low || v > high) usage(flag + ": out of range or not a number");
    return v;
}

unsigned whole_in(const std::string& text, unsigned low, unsigned high, const std::string& flag) {
    return static_cast<unsigned>(number_in(text, low, high, flag));
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") usage("the two-step login over the JSON API under load");
        if (i + 1 >= argc) usage("missing value after " + flag);
        const std::string value = argv[++i];
        if (flag == "--hash") {
            if (value != "fast" && value != "minimal" && value != "shipped") usage("--hash is fast, minimal or shipped");
            o.hash = value == "fast" ? hash_choice::fast : value == "minimal" ? hash_choice::minimal : hash_choice::shipped;
        } else if (flag == "--accounts") o.accounts = whole_in(value, 10, 100000, flag);
        else if (flag == "--clients") o.clients = whole_in(value, 1, 256, flag);
        else if (flag == "--seconds") o.seconds = number_in(value, 0.5, 120, flag);
        else if (flag == "--rounds") o.rounds = whole_in(value, 1, 20, flag);
        else if (flag == "--max-logins") o.max_logins = whole_in(value, 1, 1000000, flag);
        else if (flag == "--wrong-share") o.wrong_share = number_in(value, 0, 0.9, flag);
        else if (flag == "--few-addresses") o.few_addresses = whole_in(value, 1, 254, flag);
        else if (flag == "--victims") o.victims = whole_in(value, 1, 1000, flag);
        else if (flag == "--attackers") o.attackers = whole_in(value, 1, 64, flag);
        else if (flag == "--nidan") o.nidan = value;
        else if (flag == "--set") o.overrides.push_back(value);
        else if (flag == "--summary") o.summary = value;
        else if (flag == "--nodes") o.nodes = whole_in(value, 1, 3, flag);
        else if (flag == "--pin-cores") {
            std::istringstream cores(value);
            for (std::string core; std::getline(cores, core, ',');)
                o.pin_cores.push_back(static_cast<int>(whole_in(core, 0, 1023, flag)));
        } else if (flag == "--postgres-data") o.postgres_data = value;
        else if (flag == "--idle-connections") o.idle_connections = whole_in(value, 0, 1000000, flag);
        else if (flag == "--idle-binary") o.idle_binary = value;
        else usage("unknown option " + flag);
    }
    if (!o.pin_cores.empty() && o.pin_cores.size() < o.nodes) usage("--pin-cores needs a core for every node");
    if (o.accounts < o.clients + o.victims)
        usage("--accounts must be at least --clients + --victims (each client owns its accounts)");
    return o;
}

// ---------------------------------------------------------------------------------------------
// small measures

double ms_between(clock_type::time_point from, clock_type::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

double seconds_between(clock_type::time_point from, clock_type::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

struct samples {
    std::vector<double> ms;

    void add(double v) { ms.push_back(v); }
    std::size_t size() const { return ms.size(); }
    // Nearest rank; 0 when empty.
    double at(double q) const {
        if (ms.empty()) return 0;
        auto sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
        return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
    }
    double max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
};

struct cpu_use {
    double user_s = 0, system_s = 0;
    double minor_faults = 0;  // pages the kernel had to map (and zero) on first touch
    double total() const { return user_s + system_s; }
};

// CPU time and minor page faults of another process, all its threads, from /proc/PID/stat;
// zero when unreadable.
cpu_use process_cpu(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto name_end = text.rfind(')');  // the command name may hold spaces
    if (name_end == std::string::npos) return {};
    std::istringstream fields(text.substr(name_end + 2));
    std::string field;
    unsigned long long minflt = 0, utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state
        if (i == 10) minflt = std::stoull(field);
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return {static_cast<double>(utime) / ticks, static_cast<double>(stime) / ticks, static_cast<double>(minflt)};
}

// The PostgreSQL cluster's CPU: its postmaster (first line of DATA/postmaster.pid) and every
// process it started (backends, checkpointer, WAL writer, autovacuum...), from /proc. A backend
// that ended during the phase takes its CPU with it; nidan's pool connections live for the run.
double cluster_cpu_seconds(const std::string& data_dir) {
    if (data_dir.empty()) return 0;
    std::ifstream pid_file(data_dir + "/postmaster.pid");
    long postmaster = 0;
    if (!(pid_file >> postmaster) || postmaster <= 0) return 0;
    double total = process_cpu(static_cast<pid_t>(postmaster)).total();
    DIR* proc = ::opendir("/proc");
    if (!proc) return total;
    while (const dirent* e = ::readdir(proc)) {
        char* end = nullptr;
        const long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) continue;
        std::ifstream in("/proc/" + std::string(e->d_name) + "/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto name_end = text.rfind(')');
        if (name_end == std::string::npos) continue;
        std::istringstream fields(text.substr(name_end + 2));
        std::string state;
        long ppid = 0;
        if (fields >> state >> ppid && ppid == postmaster) total += process_cpu(static_cast<pid_t>(pid)).total();
    }
    ::closedir(proc);
    return total;
}

double own_cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

std::string first_line_of(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string tail_of(const fs::path& file, std::size_t chars = 3000) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > chars ? text.substr(text.size() - chars) : text;
}

// ---------------------------------------------------------------------------------------------
// accounts

struct bench_account {
    std::string portal;
    std::string id;
    std::string email;
};

std::vector<bench_account> make_accounts(unsigned count, const std::vector<nidan::portal_config>& portals) {
    std::vector<bench_account> accounts;
    accounts.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        const auto n = std::to_string(i);
        accounts.push_back({portals[i % portals.size()].id, "load" + n, "load" + n + "@example.jp"});
    }
    return accounts;
}

// portal,id,email,phone,password; every row carries the same ready PHC string, quoted (it holds
// commas), so the import stores it as it is.
void write_import_csv(const fs::path& file, const std::vector<bench_account>& accounts, const std::string& phc) {
    std::ofstream out(file);
    out << "portal,id,email,phone,password\n";
    char phone[32];
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        std::snprintf(phone, sizeof phone, "03%08zu", i);
        out << accounts[i].portal << ',' << accounts[i].id << ',' << accounts[i].email << ',' << phone << ",\"" << phc
            << "\"\n";
    }
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

// ---------------------------------------------------------------------------------------------
// child processes

// Starts binary with args, stdout and stderr to the files, stdin from /dev/null.
// cpu >= 0: pinned to that core.
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
            int cpu = -1) {
    std::vector<std::string> words{binary};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || in_fd < 0) throw std::runtime_error("cannot open the output files of " + binary);
    std::fflush(nullptr);  // the child must not print our buffered output again
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            if (::sched_setaffinity(0, sizeof set, &set) != 0) ::_exit(126);
        }
        ::dup2(in_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    ::close(in_fd);
    if (pid < 0) throw std::runtime_error("fork failed");
    return pid;
}

// The exit code (128 + signal when killed), or nullopt when still running after `timeout`.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    do {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (clock_type::now() < deadline);
    return std::nullopt;
}

void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

// Runs a nidan command to its end (at most two minutes); throws with its stderr on failure.
void run_nidan(const std::string& binary, const std::vector<std::string>& args, const fs::path& dir) {
    const auto out = dir / "command.out", err = dir / "command.err";
    const pid_t pid = spawn(binary, args, out, err);
    const auto code = wait_exit(pid, std::chrono::minutes(2));
    if (!code) kill_and_reap(pid);
    if (code != 0) throw std::runtime_error("nidan " + args.front() + " " + args.at(1) + " failed: " + tail_of(err));
}

// `nidan serve` as a child: waits for "listening on http://HOST:PORT" on its stdout.
class server_child {
public:
    server_child(const std::string& binary, const std::vector<std::string>& args, const fs::path& dir,
                 const std::string& name = "serve", int cpu = -1)
        : out_(dir / (name + ".out")), log_(dir / (name + ".log")) {
        pid_ = spawn(binary, args, out_, log_, cpu);
        try {
            port_ = wait_for_port();
        } catch (...) {
            if (!exit_code_) kill_and_reap(pid_);
            throw;
        }
    }
    ~server_child() {
        if (!exit_code_) stop();
    }
    server_child(const server_child&) = delete;
    server_child& operator=(const server_child&) = delete;

    unsigned short port() const { return port_; }
    pid_t pid() const { return pid_; }
    const fs::path& log() const { return log_; }

    // SIGTERM, as an operator stops it; SIGKILL if it is still there after 20 s.
    int stop() {
        if (exit_code_) return *exit_code_;
        ::kill(pid_, SIGTERM);
        exit_code_ = wait_exit(pid_, std::chrono::seconds(20));
        if (!exit_code_) {
            kill_and_reap(pid_);
            exit_code_ = 128 + SIGKILL;
        }
        return *exit_code_;
    }

private:
    unsigned short wait_for_port() {
        const std::string marker = "listening on ";
        const auto deadline = clock_type::now() + std::chrono::seconds(30);
        while (clock_type::now() < deadline) {
            const auto line = first_line_of(out_);
            if (line.starts_with(marker)) return static_cast<unsigned short>(std::stoi(line.substr(line.rfind(':') + 1)));
            if (auto code = wait_exit(pid_, std::chrono::milliseconds(50))) {
                exit_code_ = code;
                throw std::runtime_error("nidan serve exited with " + std::to_string(*code) + ":\n" + tail_of(log_));
            }
        }
        throw std::runtime_error("nidan serve did not start within 30 s:\n" + tail_of(log_));
    }

    fs::path out_, log_;
    pid_t pid_ = -1;
    unsigned short port_ = 0;
    std::optional<int> exit_code_;
};

// VmRSS of a process in KiB; 0 when unreadable.
long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    for (int n = 0; n < 200 && std::getline(in, line); ++n)
        if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

// The number after "key=" in text; 0 when absent.
double figure_in(const std::string& text, const std::string& key) {
    const auto at = text.find(key + "=");
    return at == std::string::npos ? 0 : std::strtod(text.c_str() + at + key.size() + 1, nullptr);
}

// bench_idle_connections children holding idle keep-alive connections to one server, and what
// they cost its memory.
class idle_holders {
public:
    static constexpr unsigned per_process = 19000;  // below one process's open-files limit here
    static constexpr unsigned per_address = 200;    // below server.max_connections_per_client

    idle_holders(std::string binary, fs::path dir, unsigned connections)
        : binary_(std::move(binary)), dir_(std::move(dir)), connections_(connections) {}
    ~idle_holders() { close(); }
    idle_holders(const idle_holders&) = delete;
    idle_holders& operator=(const idle_holders&) = delete;

    // Opens them all (bounded: 3 minutes) and measures the server's VmRSS before and after.
    void open(unsigned short port, pid_t server) {
        if (!pids_.empty()) return;
        const auto before = static_cast<double>(rss_kib(server));
        const auto start = clock_type::now();
        std::vector<fs::path> ready;
        unsigned first_address = 2;
        for (unsigned left = connections_, i = 0; left > 0; ++i) {
            const unsigned n = std::min(left, per_process);
            left -= n;
            const auto name = "idle" + std::to_string(i) + "-" + std::to_string(++openings_);
            ready.push_back(dir_ / (name + ".ready"));
            pids_.push_back(spawn(binary_,
                                  {"--port", std::to_string(port), "--connections", std::to_string(n), "--per-address",
                                   std::to_string(per_address), "--first-address", std::to_string(first_address),
                                   "--hold-seconds", "900", "--ready-file", ready.back().string()},
                                  dir_ / (name + ".out"), dir_ / (name + ".err")));
            outs_.push_back(dir_ / (name + ".out"));
            first_address += (n + per_address - 1) / per_address;
        }
        std::string lines;
        for (std::size_t i = 0; i < ready.size(); ++i) {
            while (!fs::exists(ready[i])) {
                if (clock_type::now() - start > std::chrono::minutes(3))
                    throw std::runtime_error("the idle connections were not open within 3 minutes");
                if (auto code = wait_exit(pids_[i], std::chrono::milliseconds(50))) {
                    pids_[i] = -1;
                    throw std::runtime_error("bench_idle_connections exited with " + std::to_string(*code) + ": " +
                                             tail_of(outs_[i].parent_path() / (outs_[i].stem().string() + ".err")));
                }
            }
            lines += first_line_of(ready[i]) + "\n";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto after = static_cast<double>(rss_kib(server));
        if (rss_before_kib_ == 0) {  // the first opening's figures are the ones reported
            rss_before_kib_ = before;
            rss_with_kib_ = after;
            std::size_t at = 0;
            while (at < lines.size()) {
                const auto end = lines.find('\n', at);
                const auto line = lines.substr(at, end - at);
                held_ += static_cast<unsigned>(figure_in(line, "held"));
                refused_ += static_cast<unsigned>(figure_in(line, "refused"));
                failed_ += static_cast<unsigned>(figure_in(line, "failed"));
                at = end + 1;
            }
            open_s_ = seconds_of(clock_type::now() - start);
        }
    }

    // SIGTERM to every holder; they close their connections and report those the server dropped.
    void close() {
        for (std::size_t i = 0; i < pids_.size(); ++i) {
            if (pids_[i] < 0) continue;
            ::kill(pids_[i], SIGTERM);
            if (!wait_exit(pids_[i], std::chrono::seconds(20))) kill_and_reap(pids_[i]);
            std::ifstream in(outs_[i]);
            std::string line;
            for (int n = 0; n < 10 && std::getline(in, line); ++n)
                dropped_ += static_cast<unsigned>(figure_in(line, "dropped_by_server"));
        }
        pids_.clear();
        outs_.clear();
    }

    void print() const {
        const double per = held_ ? (rss_with_kib_ - rss_before_kib_) / held_ : 0;
        std::printf("\nidle connections: %u held (%u refused, %u failed) in %.1f s by %u process(es); dropped by the "
                    "server while held: %u\n",
                    held_, refused_, failed_, open_s_, (connections_ + per_process - 1) / per_process, dropped_);
        std::printf("  server VmRSS %.1f MiB before, %.1f MiB with them: %.2f KiB per idle connection, "
                    "%.1f MiB projected for 50,000\n",
                    rss_before_kib_ / 1024.0, rss_with_kib_ / 1024.0, per, (rss_before_kib_ + 50000 * per) / 1024.0);
        std::printf("idle_connections_summary held=%u refused=%u failed=%u dropped=%u rss_before_kb=%.0f rss_with_kb=%.0f "
                    "kb_per_connection=%.2f projected_50000_mb=%.1f\n",
                    held_, refused_, failed_, dropped_, rss_before_kib_, rss_with_kib_, per,
                    (rss_before_kib_ + 50000 * per) / 1024.0);
    }

private:
    static double seconds_of(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

    std::string binary_;
    fs::path dir_;
    unsigned connections_;
    unsigned openings_ = 0;
    std::vector<pid_t> pids_;
    std::vector<fs::path> outs_;
    double rss_before_kib_ = 0, rss_with_kib_ = 0;
    unsigned held_ = 0, refused_ = 0, failed_ = 0, dropped_ = 0;
    double open_s_ = 0;
};

// ---------------------------------------------------------------------------------------------
// the code mails: an SMTP sink and a mailbox per recipient

struct arrival {
    std::string code;
    clock_type::time_point at;
};

// Codes by recipient address, handed from the sink to the client waiting for them. Used on the
// io thread only.
class mailbox {
public:
    void deliver(const std::string& to, std::string code, clock_type::time_point at) {
        auto& slot = slots_[to];
        slot.latest = arrival{std::move(code), at};
        if (slot.waiter) slot.waiter->cancel();
    }

    // The first code for `to` that arrived at or after `not_before` (older ones belong to an
    // earlier login of the account); nullopt when none comes before `deadline`.
    awaitable<std::optional<arrival>> wait(const std::string& to, clock_type::time_point not_before,
                                           clock_type::time_point deadline) {
        auto& slot = slots_[to];  // unordered_map keeps references to its elements valid
        net::steady_timer timer(co_await net::this_coro::executor, deadline);
        while (!(slot.latest && slot.latest->at >= not_before) && clock_type::now() < deadline) {
            slot.waiter = &timer;
            co_await timer.async_wait(as_result);  // ends at the deadline or when a code comes
            slot.waiter = nullptr;
        }
        if (!slot.latest || slot.latest->at < not_before) co_return std::nullopt;
        auto found = std::move(slot.latest);
        slot.latest.reset();
        co_return found;
    }

private:
    struct slot_type {
        std::optional<arrival> latest;
        net::steady_timer* waiter = nullptr;
    };
    std::unordered_map<std::string, slot_type> slots_;
};

// The digits after "■ログイン認証コード" in a MIME message whose body is base64 UTF-8 text
// (core/mail/mail_message.cpp); "" when there are none.
std::string login_code_in(std::string_view message) {
    const auto body_at = message.find("\r\n\r\n");
    if (body_at == std::string_view::npos) return {};
    const auto body64 = message.substr(body_at + 4);
    std::string text(body64.size(), '\0');
    std::size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(text.data()), text.size(), body64.data(), body64.size(),
                          "\r\n", &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return {};
    text.resize(length);
    auto at = text.find(code_marker);
    if (at == std::string::npos) return {};
    at += code_marker.size();
    while (at < text.size() && (text[at] == '\r' || text[at] == '\n' || text[at] == ' ')) ++at;
    std::string digits;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') digits += text[at++];
    return digits;
}

// Undoes SMTP dot-stuffing (RFC 5321 4.5.2): a line starting with "." was sent with "..".
std::string unstuffed(std::string_view data) {
    std::string out;
    out.reserve(data.size());
    bool line_start = true;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (line_start && data[i] == '.' && i + 1 < data.size() && data[i + 1] == '.') ++i;
        out += data[i];
        line_start = data[i] == '\n';
    }
    return out;
}

std::string address_in(const std::string& rcpt_line) {
    const auto open = rcpt_line.find('<'), close = rcpt_line.find('>');
    if (open == std::string::npos || close == std::string::npos || close < open) return {};
    return rcpt_line.substr(open + 1, close - open - 1);
}

std::string command_verb(const std::string& line) {
    std::string verb = line.substr(0, 4);
    for (auto& c : verb) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return verb;
}

// Just enough SMTP for nidan's client: 220, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Each
// message's code goes to the mailbox under its (last) RCPT address at the moment its final
// "." arrives, before the 250: the mail latency excludes our own reply.
class smtp_sink {
public:
    smtp_sink(net::io_context& ioc, mailbox& box) : acceptor_(ioc, {net::ip::make_address("127.0.0.1"), 0}), box_(box) {
        net::co_spawn(ioc, accept_loop(), net::detached);
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::uint64_t mails() const { return mails_; }
    std::uint64_t without_code() const { return without_code_; }
    std::uint64_t connections() const { return connections_; }

private:
    static constexpr std::size_t max_message_bytes = 1 << 20;
    static constexpr std::size_t max_commands_per_connection = 1000000;
    static constexpr std::size_t max_connections = 100000;

    awaitable<void> accept_loop() {
        while (connections_ < max_connections) {
            auto [ec, socket] = co_await acceptor_.async_accept(as_result);
            if (ec) co_return;
            ++connections_;
            net::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), net::detached);
        }
    }

    static awaitable<bool> send(tcp::socket& socket, const std::string& text) {
        auto [ec, written] = co_await net::async_write(socket, net::buffer(text), as_result);
        co_return !ec && written == text.size();
    }

    awaitable<void> serve(tcp::socket socket) {
        std::string input, recipient;
        const std::string greeting = "220 bench-sink ESMTP\r\n";
        if (!co_await send(socket, greeting)) co_return;
        for (std::size_t n = 0; n < max_commands_per_connection; ++n) {
            auto [ec, length] = co_await net::async_read_until(socket, net::dynamic_buffer(input, max_message_bytes),
                                                               "\r\n", as_result);
            if (ec) co_return;
            const std::string line = input.substr(0, length - 2);
            input.erase(0, length);
            const auto verb = command_verb(line);
            std::string answer = "250 2.0.0 OK\r\n";
            if (verb == "EHLO" || verb == "HELO") answer = "250 bench-sink\r\n";
            else if (verb == "MAIL") recipient.clear();
            else if (verb == "RCPT") recipient = address_in(line);
            else if (verb == "DATA") {
                if (!co_await receive_message(socket, input, recipient)) co_return;
                continue;
            } else if (verb == "QUIT") {
                const std::string bye = "221 2.0.0 bye\r\n";
                co_await send(socket, bye);
                co_return;
            } else if (verb != "RSET" && verb != "NOOP") answer = "502 5.5.2 not implemented\r\n";
            if (!co_await send(socket, answer)) co_return;
        }
    }

    awaitable<bool> receive_message(tcp::socket& socket, std::string& input, const std::string& recipient) {
        const std::string go_ahead = "354 end with <CRLF>.<CRLF>\r\n";
        if (!co_await send(socket, go_ahead)) co_return false;
        auto [ec, length] = co_await net::async_read_until(socket, net::dynamic_buffer(input, max_message_bytes),
                                                           "\r\n.\r\n", as_result);
        if (ec) co_return false;
        const auto arrived = clock_type::now();
        const auto message = unstuffed(std::string_view(input).substr(0, length - 3));  // keeps the last CRLF
        input.erase(0, length);
        auto code = login_code_in(message);
        if (code.empty()) ++without_code_;
        else box_.deliver(recipient, std::move(code), arrived);
        ++mails_;
        const std::string accepted = "250 2.0.0 accepted\r\n";
        co_return co_await send(socket, accepted);
    }

    tcp::acceptor acceptor_;
    mailbox& box_;
    std::uint64_t mails_ = 0, without_code_ = 0, connections_ = 0;
};

// ---------------------------------------------------------------------------------------------
// the API client: one keep-alive connection per virtual client

struct http_reply {
    unsigned status = 0;  // 0: no answer (connection failed, closed or timed out)
    std::string body;
};

class api_connection {
public:
    api_connection(net::any_io_executor ex, tcp::endpoint server) : stream_(std::move(ex)), server_(server) {}

    awaitable<http_reply> post(const std::string& target, const std::string& body, const std::string& bearer,
                               const std::string& client_address, clock_type::duration timeout) {
        if (!co_await connected(timeout)) co_return http_reply{};
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::content_type, "application/json");
        if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
        req.set("X-Forwarded-For", client_address);
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();
        stream_.expires_after(timeout);
        auto [write_ec, written] = co_await http::async_write(stream_, req, as_result);
        if (write_ec) co_return dropped();
        http::response<http::string_body> res;
        auto [read_ec, read] = co_await http::async_read(stream_, buffer_, res, as_result);
        if (read_ec) co_return dropped();
        stream_.expires_never();
        if (!res.keep_alive()) close();
        co_return http_reply{res.result_int(), std::move(res.body())};
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().close(ignored);
        buffer_.clear();
    }

private:
    awaitable<bool> connected(clock_type::duration timeout) {
        if (stream_.socket().is_open()) co_return true;
        stream_.expires_after(timeout);
        auto [ec] = co_await stream_.async_connect(server_, as_result);
        if (ec) co_return false;
        stream_.socket().set_option(tcp::no_delay(true));
        co_return true;
    }

    http_reply dropped() {
        close();
        return {};
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    tcp::endpoint server_;
};

std::string credentials_json(const std::string& id, std::string_view password) {
    json::object body;
    body["selfcare_id"] = id;
    body["password"] = password;
    return json::serialize(body);
}

std::string code_json(const std::string& code) {
    json::object body;
    body["code"] = code;
    return json::serialize(body);
}

std::string token_in(const std::string& reply_body) {
    json::error_code ec;
    const auto parsed = json::parse(reply_body, ec);
    const auto* object = ec ? nullptr : parsed.if_object();
    const auto* token = object ? object->if_contains("token") : nullptr;
    return token && token->is_string() ? std::string(token->get_string()) : std::string();
}

// ---------------------------------------------------------------------------------------------
// the load: phases of legit clients and attackers

enum class outcome : std::size_t { ok, unauthorized, too_many, unavailable, other, no_answer, count };
using outcome_counts = std::array<unsigned, static_cast<std::size_t>(outcome::count)>;

outcome classify(unsigned status) {
    switch (status) {
    case 200: return outcome::ok;
    case 401: return outcome::unauthorized;
    case 429: return outcome::too_many;
    case 503: return outcome::unavailable;
    case 0: return outcome::no_answer;
    default: return outcome::other;
    }
}

void count(outcome_counts& counts, unsigned status) { ++counts[static_cast<std::size_t>(classify(status))]; }
unsigned counted(const outcome_counts& counts, outcome o) { return counts[static_cast<std::size_t>(o)]; }

// One stretch of load. Stretches of the same name are added up in the report.
struct phase_plan {
    std::string name;
    double seconds = 0;
    double wrong_share = 0;
    std::vector<std::string> attacker_addresses;
    bool at_victims = false;  // wrong passwords for the victims only, else for any account
    int round = -1;           // which baseline/attack pair it belongs to; -1: none
    bool idle_held = false;   // the idle connections are held open during it
};

struct phase_stats {
    samples password_ms, mail_ms, code_ms, login_ms, wrong_ms;
    outcome_counts password{}, code{}, wrong{};
    unsigned logins = 0;  // code step answered 200: a completed login
    unsigned legit_started = 0, wrong_started = 0;
    unsigned no_mail = 0;       // no code at the sink within mail_timeout
    unsigned wrong_cut = 0;     // wrong passwords still held back when the phase ended
    unsigned wrong_slowed = 0;  // wrong passwords answered after slowed_ms: a throttle delay
    double seconds = 0;         // until the last legit client ended (closed loop)
    double wall_s = 0;          // until every client ended, the attackers' tail included
    double server_cpu_s = 0, server_system_s = 0, server_faults = 0, bench_cpu_s = 0;
    double db_cpu_s = 0;     // the PostgreSQL cluster's processes
    double pg_xacts = 0;     // pg_stat_database: commits + rollbacks
    double nidan_jobs = 0;   // the nodes' storage transactions, committed or failed
    double db_job_s = 0;     // their time on a connection (nidan_storage_db_seconds_sum)
    double db_jobs = 0;      // nidan_storage_db_seconds_count

    void merge(const phase_stats& o);
    double per_login(double v) const { return logins ? v / logins : 0; }
    double logins_per_s() const { return seconds > 0 ? logins / seconds : 0; }
    double server_cores() const { return wall_s > 0 ? server_cpu_s / wall_s : 0; }
    double server_system_share() const { return server_cpu_s > 0 ? server_system_s / server_cpu_s : 0; }
    double bench_cores() const { return wall_s > 0 ? bench_cpu_s / wall_s : 0; }
    double faults_per_attempt() const {
        const auto all = legit_started + wrong_started;
        return all ? server_faults / all : 0;
    }
    double wrong_share() const {
        const auto all = legit_started + wrong_started;
        return all ? static_cast<double>(wrong_started) / all : 0;
    }
};

void add(outcome_counts& into, const outcome_counts& from) {
    for (std::size_t i = 0; i < into.size(); ++i) into[i] += from[i];
}

void phase_stats::merge(const phase_stats& o) {
    for (auto [into, from] : {std::pair{&password_ms, &o.password_ms}, {&mail_ms, &o.mail_ms}, {&code_ms, &o.code_ms},
                              {&login_ms, &o.login_ms}, {&wrong_ms, &o.wrong_ms}})
        into->ms.insert(into->ms.end(), from->ms.begin(), from->ms.end());
    add(password, o.password);
    add(code, o.code);
    add(wrong, o.wrong);
    logins += o.logins;
    legit_started += o.legit_started;
    wrong_started += o.wrong_started;
    no_mail += o.no_mail;
    wrong_cut += o.wrong_cut;
    wrong_slowed += o.wrong_slowed;
    seconds += o.seconds;
    wall_s += o.wall_s;
    server_cpu_s += o.server_cpu_s;
    server_system_s += o.server_system_s;
    server_faults += o.server_faults;
    bench_cpu_s += o.bench_cpu_s;
    db_cpu_s += o.db_cpu_s;
    pg_xacts += o.pg_xacts;
    nidan_jobs += o.nidan_jobs;
    db_job_s += o.db_job_s;
    db_jobs += o.db_jobs;
}

struct legit_client {
    api_connection conn;
    std::string address;  // its X-Forwarded-For
    std::size_t first = 0, step = 1, cursor = 0;

    // Its own accounts in turn: first, first + step, first + 2 step ...
    std::size_t next_account(std::size_t accounts) {
        auto index = first + cursor * step;
        if (index >= accounts) {
            cursor = 0;
            index = first;
        }
        ++cursor;
        return index;
    }
};

struct attacker {
    api_connection conn;
};

// What lives for the whole run and is shared by the phases (io thread only).
struct load_world {
    std::vector<bench_account> accounts;
    std::size_t legit_accounts = 0;  // the first ones; the victims follow
    mailbox box;
    std::deque<legit_client> clients;
    std::deque<attacker> attackers;
    std::vector<pid_t> server_pids;
    std::vector<unsigned short> ports;
    unsigned max_attempts = 0;
    std::string postgres_data;  // "" -> no database CPU
    PGconn* stats_db = nullptr;  // to read pg_stat_database; null on LMDB
};

// The servers' CPU, all nodes together.
cpu_use servers_cpu(const load_world& world) {
    cpu_use sum;
    for (const auto pid : world.server_pids) {
        const auto c = process_cpu(pid);
        sum.user_s += c.user_s;
        sum.system_s += c.system_s;
        sum.minor_faults += c.minor_faults;
    }
    return sum;
}

// The database's transactions so far (commits + rollbacks); 0 without a database.
double database_transactions(PGconn* db) {
    if (!db) return 0;
    PGresult* r = PQexec(db, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");
    const double v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? std::strtod(PQgetvalue(r, 0, 0), nullptr) : 0;
    PQclear(r);
    return v;
}

// The figures of the nodes' /metrics that count storage jobs, summed over the nodes.
struct storage_figures {
    double jobs = 0, db_s = 0, db_count = 0;
};

// The value after the series name `name` (labels included) on each line that starts with it.
double sum_of_series(const std::string& body, const std::string& prefix) {
    double total = 0;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix)) total += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    return total;
}

// A blocking GET /metrics on each node (its own short-lived io_context: called between the
// phases, when no client runs). Nodes without the figures (LMDB) add zeros.
storage_figures storage_figures_of(const std::vector<unsigned short>& ports) {
    storage_figures f;
    for (const auto port : ports) {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        beast::error_code ec;
        stream.expires_after(std::chrono::seconds(5));
        stream.connect({net::ip::make_address("127.0.0.1"), port}, ec);
        if (ec) continue;
        http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(stream, req, ec);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        if (!ec) http::read(stream, buffer, res, ec);
        if (ec || res.result_int() != 200) continue;
        const auto& body = res.body();
        f.jobs += sum_of_series(body, "nidan_storage_transactions_total ") + sum_of_series(body, "nidan_storage_errors_total ");
        f.db_s += sum_of_series(body, "nidan_storage_db_seconds_sum{");
        f.db_count += sum_of_series(body, "nidan_storage_db_seconds_count{");
    }
    return f;
}

class phase_context {
public:
    phase_context(const phase_plan& plan, load_world& world)
        : plan_(plan), world_(world), deadline_(clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                                          std::chrono::duration<double>(plan.seconds))) {}

    const phase_plan& plan() const { return plan_; }
    load_world& world() { return world_; }
    phase_stats& stats() { return stats_; }
    clock_type::time_point deadline() const { return deadline_; }

    bool open() const {
        return clock_type::now() < deadline_ && stats_.legit_started + stats_.wrong_started < world_.max_attempts;
    }
    // Keeps wrong / (wrong + legit) password attempts at the plan's share.
    bool attack_due() const {
        return static_cast<double>(stats_.wrong_started) * (1 - plan_.wrong_share) <
               plan_.wrong_share * static_cast<double>(stats_.legit_started);
    }
    const bench_account& attacked_account() {
        const std::size_t first = plan_.at_victims ? world_.legit_accounts : 0;
        return world_.accounts[std::uniform_int_distribution<std::size_t>(first, world_.accounts.size() - 1)(rng_)];
    }
    // The attacker addresses in turn, so each collects an even share of the failures.
    const std::string& next_attacker_address() {
        return plan_.attacker_addresses[next_address_++ % plan_.attacker_addresses.size()];
    }

private:
    const phase_plan& plan_;
    load_world& world_;
    clock_type::time_point deadline_;
    phase_stats stats_;
    std::minstd_rand rng_{20240611};
    std::size_t next_address_ = 0;
};

awaitable<void> pause(clock_type::duration how_long) {
    net::steady_timer timer(co_await net::this_coro::executor, how_long);
    co_await timer.async_wait(as_result);
}

// One login of a legit client: password, the code from the sink, the code.
awaitable<void> one_login(phase_context& ctx, legit_client& client) {
    auto& stats = ctx.stats();
    const auto& account = ctx.world().accounts[client.next_account(ctx.world().legit_accounts)];
    const std::string login_target = "/api/v1/" + account.portal + "/login";
    const std::string login_body = credentials_json(account.id, account_password);
    const std::string no_token;
    ++stats.legit_started;
    const auto sent = clock_type::now();
    const auto login = co_await client.conn.post(login_target, login_body, no_token, client.address, request_timeout);
    const auto answered = clock_type::now();
    stats.password_ms.add(ms_between(sent, answered));
    count(stats.password, login.status);
    const auto token = login.status == 200 ? token_in(login.body) : std::string();
    if (token.empty()) {
        co_await pause(pause_after_refusal);
        co_return;
    }

    const auto mail_deadline = answered + mail_timeout;
    const auto mail = co_await ctx.world().box.wait(account.email, sent, mail_deadline);
    if (!mail) {
        ++stats.no_mail;
        co_return;
    }
    stats.mail_ms.add(std::max(0.0, ms_between(answered, mail->at)));  // < 0: the mail beat the answer

    const std::string code_target = "/api/v1/" + account.portal + "/code";
    const std::string code_body = code_json(mail->code);
    const auto code_sent = clock_type::now();
    const auto code = co_await client.conn.post(code_target, code_body, token, client.address, request_timeout);
    const auto done = clock_type::now();
    stats.code_ms.add(ms_between(code_sent, done));
    count(stats.code, code.status);
    if (code.status != 200) {
        co_await pause(pause_after_refusal);
        co_return;
    }
    ++stats.logins;
    stats.login_ms.add(ms_between(sent, done));
}

awaitable<void> legit_loop(phase_context& ctx, legit_client& client) {
    while (ctx.open()) co_await one_login(ctx, client);
}

// A wrong password for a known ID from one of the plan's attacker addresses.
awaitable<void> one_wrong_password(phase_context& ctx, attacker& a) {
    auto& stats = ctx.stats();
    const auto& account = ctx.attacked_account();
    const std::string address = ctx.next_attacker_address();
    const std::string target = "/api/v1/" + account.portal + "/login";
    const std::string body = credentials_json(account.id, wrong_password);
    const std::string no_token;
    ++stats.wrong_started;
    const auto sent = clock_type::now();
    const auto timeout = std::max(ctx.deadline() - sent, clock_type::duration::zero()) + attack_grace;
    const auto reply = co_await a.conn.post(target, body, no_token, address, timeout);
    const auto answered = clock_type::now();
    if (reply.status == 0 && answered >= ctx.deadline()) {
        ++stats.wrong_cut;
        co_return;
    }
    const auto ms = ms_between(sent, answered);
    stats.wrong_ms.add(ms);
    count(stats.wrong, reply.status);
    if (ms >= slowed_ms) ++stats.wrong_slowed;
}

awaitable<void> attacker_loop(phase_context& ctx, attacker& a) {
    while (ctx.open()) {
        if (ctx.attack_due()) co_await one_wrong_password(ctx, a);
        else co_await pause(attacker_poll);
    }
}

// Every client and attacker coroutine is bounded (phase deadline, request and mail timeouts),
// so they all end well within this; a phase that still has some running is a bug here, and the
// run stops rather than leave coroutines pointing at a finished phase.
constexpr auto phase_overrun = std::chrono::seconds(60);

[[noreturn]] void stalled_phase(const std::vector<pid_t>& servers) {
    std::fprintf(stderr, "bench_login_load: a virtual client did not end %lld s after its phase; stopping\n",
                 static_cast<long long>(phase_overrun.count()));
    for (const auto server : servers)
        if (server > 0) kill_and_reap(server);
    std::_Exit(1);
}

awaitable<phase_stats> run_phase(const phase_plan& plan, load_world& world) {
    phase_context ctx(plan, world);
    const auto start = clock_type::now();
    const auto storage_before = storage_figures_of(world.ports);
    const auto xacts_before = database_transactions(world.stats_db);
    const auto db_cpu = cluster_cpu_seconds(world.postgres_data);
    const auto server_cpu = servers_cpu(world);
    const auto bench_cpu = own_cpu_seconds();
    const auto ex = co_await net::this_coro::executor;
    net::steady_timer all_done(ex, ctx.deadline() + phase_overrun);
    unsigned running = 0;
    auto legit_end = start;
    std::exception_ptr failure;
    auto on_end = [&](bool legit) {
        return [&, legit](std::exception_ptr e) {
            if (e && !failure) failure = e;
            if (legit) legit_end = clock_type::now();
            if (--running == 0) all_done.cancel();
        };
    };
    for (auto& client : world.clients) {
        ++running;
        net::co_spawn(ex, legit_loop(ctx, client), on_end(true));
    }
    if (plan.wrong_share > 0) {
        for (auto& a : world.attackers) {
            ++running;
            net::co_spawn(ex, attacker_loop(ctx, a), on_end(false));
        }
    }
    if (running > 0) co_await all_done.async_wait(as_result);
    if (running > 0) stalled_phase(world.server_pids);
    if (failure) std::rethrow_exception(failure);
    auto& stats = ctx.stats();
    const auto end = clock_type::now();
    stats.seconds = seconds_between(start, legit_end);
    stats.wall_s = seconds_between(start, end);
    const auto server_after = servers_cpu(world);
    stats.server_cpu_s = server_after.total() - server_cpu.total();
    stats.server_system_s = server_after.system_s - server_cpu.system_s;
    stats.server_faults = server_after.minor_faults - server_cpu.minor_faults;
    stats.bench_cpu_s = own_cpu_seconds() - bench_cpu;
    stats.db_cpu_s = cluster_cpu_seconds(world.postgres_data) - db_cpu;
    stats.pg_xacts = database_transactions(world.stats_db) - xacts_before;
    const auto storage_after = storage_figures_of(world.ports);
    stats.nidan_jobs = storage_after.jobs - storage_before.jobs;
    stats.db_job_s = storage_after.db_s - storage_before.db_s;
    stats.db_jobs = storage_after.db_count - storage_before.db_count;
    co_return std::move(stats);
}

std::string address_in_range(const std::string& prefix, std::size_t i) { return prefix + std::to_string(1 + i % 254); }

// The baseline and the unthrottled attack alternate in R rounds, in ABBA order (B A, A B, B A
// ...), so that the drift of a shared machine falls on both alike; the per-round ratios in the
// report show how much noise there was. The throttled attack comes last, in one piece: its
// counters grow through it, and its abandoned requests (held back up to 30 s on the server, then
// hashed) finish after the measurements instead of inside another phase.
std::vector<phase_plan> plan_phases(const options& o) {
    const auto slice = o.seconds / o.rounds;
    const phase_plan baseline{"no wrong passwords", slice, 0, {}};
    if (o.idle_connections > 0) {
        phase_plan idle = baseline;
        idle.name = std::to_string(o.idle_connections) + " idle conns held";
        idle.idle_held = true;
        std::vector<phase_plan> plans;
        for (unsigned r = 0; r < o.rounds; ++r) {
            const bool baseline_first = r % 2 == 0;
            plans.push_back(baseline_first ? baseline : idle);
            plans.push_back(baseline_first ? idle : baseline);
            plans[plans.size() - 2].round = plans.back().round = static_cast<int>(r);
        }
        return plans;
    }
    if (o.wrong_share <= 0) return {{baseline.name, o.seconds, 0, {}}};
    const auto percent = std::to_string(static_cast<int>(o.wrong_share * 100 + 0.5)) + "% wrong, ";
    std::vector<std::string> many, few;
    for (std::size_t i = 0; i < 254; ++i) many.push_back(address_in_range("192.0.2.", i));
    for (std::size_t i = 0; i < o.few_addresses; ++i) few.push_back(address_in_range("203.0.113.", i));
    const phase_plan attack{percent + "254 addr", slice, o.wrong_share, many};

    std::vector<phase_plan> plans;
    for (unsigned r = 0; r < o.rounds; ++r) {
        const bool baseline_first = r % 2 == 0;
        plans.push_back(baseline_first ? baseline : attack);
        plans.push_back(baseline_first ? attack : baseline);
        plans[plans.size() - 2].round = plans.back().round = static_cast<int>(r);
    }
    plans.push_back({percent + std::to_string(o.few_addresses) + " addr, " + std::to_string(o.victims) + " IDs",
                     o.seconds, o.wrong_share, few, true});
    return plans;
}

// The stretches measured, and their sums by name in the order of first appearance.
struct phase_result {
    const phase_plan* plan;
    phase_stats stats;
};

struct report_row {
    std::string name;
    phase_stats stats;
};

std::vector<report_row> rows_of(const std::vector<phase_result>& results) {
    std::vector<report_row> rows;
    for (const auto& r : results) {
        auto same = std::find_if(rows.begin(), rows.end(), [&](const report_row& row) { return row.name == r.plan->name; });
        if (same == rows.end()) rows.push_back({r.plan->name, r.stats});
        else same->stats.merge(r.stats);
    }
    return rows;
}

// Client i (and attacker i) talks to node i % nodes: the load spreads evenly, and a client's
// two steps go to one node (any node would do: no sticky sessions are needed).
void add_virtual_clients(load_world& world, const options& o, net::any_io_executor ex) {
    const auto node = [&](unsigned i) {
        return tcp::endpoint{net::ip::make_address("127.0.0.1"), world.ports[i % world.ports.size()]};
    };
    for (unsigned i = 0; i < o.clients; ++i) {
        world.clients.push_back({api_connection(ex, node(i)), address_in_range("198.51.100.", i), i, o.clients, 0});
    }
    for (unsigned i = 0; i < o.attackers; ++i) world.attackers.push_back({api_connection(ex, node(i))});
}

// ---------------------------------------------------------------------------------------------
// the report

struct setup_figures {
    std::string hash_label;
    double import_s = 0, server_start_s = 0;
    std::string load_average;
};

void print_header(const options& o, const nidan::config& cfg, const setup_figures& setup) {
    const char* durability = cfg.storage.durability == nidan::durability_mode::full_sync      ? "full_sync"
                             : cfg.storage.durability == nidan::durability_mode::no_meta_sync ? "no_meta_sync"
                                                                                               : "no_sync";
    std::printf("two-step login over the JSON API under load: hash %s, %u accounts, %u clients\n",
                setup.hash_label.c_str(), o.accounts, o.clients);
    std::string pins;
    for (std::size_t i = 0; i < o.pin_cores.size() && i < o.nodes; ++i) pins += (i ? "," : "") + std::to_string(o.pin_cores[i]);
    std::printf("storage: %s, %u node%s%s%s\n",
                cfg.storage.backend == nidan::storage_backend::postgres ? "postgres" : "lmdb", o.nodes,
                o.nodes == 1 ? "" : "s", pins.empty() ? "" : ", pinned to cores ", pins.c_str());
    std::printf("server: io_threads=%u hash.threads=%u durability=%s smtp.pool_size=%u; %u cores, load average %s\n",
                cfg.server.io_threads, cfg.hash.threads, durability, cfg.smtp.pool_size,
                std::thread::hardware_concurrency(), setup.load_average.c_str());
    std::printf("setup: import of %u accounts %.2f s, server ready %.2f s\n", o.accounts, setup.import_s,
                setup.server_start_s);
    std::printf("load: %.1f s per kind of phase; the first two alternate in %u rounds (ABBA)\n\n", o.seconds,
                o.rounds);
}

void print_throughput(const std::vector<report_row>& rows) {
    std::printf("%-26s %5s %7s %9s %10s %9s %12s %12s %11s %8s\n", "phase", "s", "logins", "logins/s", "srv cores",
                "of it sys", "srv faults/pw", "bench cores", "wrong sent", "wrong %");
    for (const auto& [name, s] : rows) {
        std::printf("%-26s %5.1f %7u %9.1f %10.2f %8.0f%% %12.0f %12.2f %11u %7.1f%%\n", name.c_str(), s.seconds,
                    s.logins, s.logins_per_s(), s.server_cores(), 100 * s.server_system_share(),
                    s.faults_per_attempt(), s.bench_cores(), s.wrong_started, 100 * s.wrong_share());
    }
    std::printf("(cores: CPU time / wall time; srv faults/pw: the server's minor page faults per password attempt)\n");
    std::printf("\n%-26s %12s %11s %11s %11s %12s\n", "per completed login", "srv CPU ms", "db CPU ms",
                "db xacts", "nidan txns", "db ms/txn");
    for (const auto& [name, s] : rows) {
        std::printf("%-26s %12.2f %11.2f %11.2f %11.2f %12.3f\n", name.c_str(), 1000 * s.per_login(s.server_cpu_s),
                    1000 * s.per_login(s.db_cpu_s), s.per_login(s.pg_xacts), s.per_login(s.nidan_jobs),
                    s.db_jobs > 0 ? 1000 * s.db_job_s / s.db_jobs : 0.0);
    }
    std::printf("(srv: all nodes; db: the cluster's processes; db xacts: pg_stat_database commits + rollbacks;\n"
                " nidan txns: the nodes' storage transactions, from /metrics; db ms/txn: their mean BEGIN..COMMIT)\n");
}

void print_latency_row(const char* what, const samples& s) {
    if (s.size() == 0) return;
    std::printf("  %-34s %6zu %8.1f %8.1f %8.1f %8.1f\n", what, s.size(), s.at(0.5), s.at(0.9), s.at(0.99), s.max());
}

void print_latencies(const std::vector<report_row>& rows) {
    std::printf("\n%-36s %6s %8s %8s %8s %8s\n", "latency (ms)", "n", "p50", "p90", "p99", "max");
    for (const auto& [name, s] : rows) {
        std::printf("%s\n", name.c_str());
        print_latency_row("password step (any answer)", s.password_ms);
        print_latency_row("mail (login answer -> code at sink)", s.mail_ms);
        print_latency_row("code step (any answer)", s.code_ms);
        print_latency_row("whole login (password sent -> 200)", s.login_ms);
        print_latency_row("wrong password (answered)", s.wrong_ms);
    }
}

// Answers by status; "none" is no answer (connection failed or timed out), "other" any status
// not listed; "cut": wrong passwords still held back when the phase ended; "slowed": wrong
// passwords answered after a throttle delay; their 429 are attempts the server refused unchecked
// while another attempt of the same address or account waited out its delay.
void print_outcomes(const std::vector<report_row>& rows) {
    std::printf("\n%-26s %-35s %-24s %-6s %s\n", "answers", "password step", "code step", "mail", "wrong passwords");
    std::printf("%-26s %5s %5s %5s %5s %5s %5s  %5s %5s %5s %5s  %5s  %5s %5s %5s %5s %5s %5s %6s\n", "", "200", "401",
                "429", "503", "other", "none", "200", "401", "other", "none", "none", "401", "429", "503", "other", "none",
                "cut", "slowed");
    for (const auto& [name, s] : rows) {
        const auto& p = s.password;
        const auto& c = s.code;
        const auto& w = s.wrong;
        std::printf("%-26s %5u %5u %5u %5u %5u %5u  %5u %5u %5u %5u  %5u  %5u %5u %5u %5u %5u %5u %6u\n",
                    name.c_str(), counted(p, outcome::ok), counted(p, outcome::unauthorized),
                    counted(p, outcome::too_many), counted(p, outcome::unavailable), counted(p, outcome::other),
                    counted(p, outcome::no_answer), counted(c, outcome::ok), counted(c, outcome::unauthorized),
                    counted(c, outcome::other) + counted(c, outcome::too_many) + counted(c, outcome::unavailable),
                    counted(c, outcome::no_answer), s.no_mail, counted(w, outcome::unauthorized),
                    counted(w, outcome::too_many), counted(w, outcome::unavailable),
                    counted(w, outcome::other) + counted(w, outcome::ok),
                    counted(w, outcome::no_answer), s.wrong_cut, s.wrong_slowed);
    }
}

double ratio(double value, double base) { return base > 0 ? value / base : 0; }

// Logins/s of the attack against the baseline within each round: their spread is the noise.
std::string round_ratios(const std::vector<phase_result>& results) {
    std::string out;
    // The other phase of a pair sends wrong passwords or holds the idle connections.
    auto other = [](const phase_plan& p) { return p.wrong_share > 0 || p.idle_held; };
    for (const auto& attack : results) {
        if (attack.plan->round < 0 || !other(*attack.plan)) continue;
        for (const auto& base : results) {
            if (base.plan->round != attack.plan->round || other(*base.plan)) continue;
            char figure[16];
            std::snprintf(figure, sizeof figure, " x%.2f", ratio(attack.stats.logins_per_s(), base.stats.logins_per_s()));
            out += figure;
        }
    }
    return out;
}

void print_ratios(const std::vector<report_row>& rows, const std::vector<phase_result>& results) {
    if (rows.size() < 2) return;
    const auto& base = rows[0].stats;
    std::printf("\nagainst \"%s\" (same run):\n", rows[0].name.c_str());
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const auto& s = rows[i].stats;
        std::printf("  %-26s logins/s x%.2f, password p50 x%.2f p99 x%.2f, whole login p50 x%.2f, server cores x%.2f\n",
                    rows[i].name.c_str(), ratio(s.logins_per_s(), base.logins_per_s()),
                    ratio(s.password_ms.at(0.5), base.password_ms.at(0.5)),
                    ratio(s.password_ms.at(0.99), base.password_ms.at(0.99)),
                    ratio(s.login_ms.at(0.5), base.login_ms.at(0.5)), ratio(s.server_cores(), base.server_cores()));
    }
    std::printf("  logins/s of \"%s\" / \"%s\" round by round:%s\n", rows[1].name.c_str(), rows[0].name.c_str(),
                round_ratios(results).c_str());
    if (rows.size() > 2)
        std::printf("  (\"%s\" ran after the rounds, not interleaved: machine drift goes into its ratios)\n",
                    rows[2].name.c_str());
}

// One tab-separated line per row: label, phase, logins/s, its ratio to the first row's, password
// p50 p99, code p50, mail p50 p99, wrong %, slowed, server cores; then per completed login: the
// servers' CPU ms, the database's CPU ms, database transactions, nidan's storage transactions;
// and the mean BEGIN..COMMIT ms of those.
void write_summary(const std::string& file, const std::string& label, const std::vector<report_row>& rows) {
    std::ofstream out(file, std::ios::app);
    for (const auto& [name, s] : rows) {
        char line[384];
        std::snprintf(line, sizeof line,
                      "%s\t%s\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%u\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\n",
                      label.c_str(), name.c_str(), s.logins_per_s(),
                      ratio(s.logins_per_s(), rows.front().stats.logins_per_s()), s.password_ms.at(0.5),
                      s.password_ms.at(0.99),
                      s.code_ms.at(0.5), s.mail_ms.at(0.5), s.mail_ms.at(0.99), 100 * s.wrong_share(),
                      s.wrong_slowed, s.server_cores(), 1000 * s.per_login(s.server_cpu_s),
                      1000 * s.per_login(s.db_cpu_s), s.per_login(s.pg_xacts), s.per_login(s.nidan_jobs),
                      s.db_jobs > 0 ? 1000 * s.db_job_s / s.db_jobs : 0.0);
        out << line;
    }
}

// ---------------------------------------------------------------------------------------------
// the run

std::string default_nidan_binary() {
    const auto self = fs::canonical("/proc/self/exe");
    return (self.parent_path().parent_path() / "nidan").string();
}

std::string default_idle_binary() {
    return (fs::canonical("/proc/self/exe").parent_path() / "bench_idle_connections").string();
}

std::string source_dir() { return NIDAN_BENCH_SOURCE_DIR; }

// The server's settings; the user's --set come last and win.
std::vector<std::string> settings_for(const options& o, const fs::path& data, unsigned short smtp_port) {
    std::vector<std::string> s{"storage.data_dir=" + data.string(),
                               "server.listen=127.0.0.1:0",
                               "server.templates_dir=" + source_dir() + "/templates",
                               "server.static_dir=" + source_dir() + "/static",
                               "server.trusted_proxies=127.0.0.1",
                               "server.shutdown_grace_ms=3000",
                               "smtp.relay=127.0.0.1:" + std::to_string(smtp_port),
                               "code.mails_per_hour=100"};
    if (o.hash == hash_choice::fast) s.insert(s.end(), {"hash.memory_kib=8192", "hash.iterations=1"});
    if (o.hash == hash_choice::minimal)
        s.insert(s.end(), {"hash.memory_kib=8", "hash.iterations=1", "hash.import_min_memory_kib=8"});
    if (o.idle_connections > 0)
        s.insert(s.end(), {"server.max_connections=" + std::to_string(std::max(o.idle_connections + 1000, 10000u)),
                           "server.idle_timeout_ms=600000"});
    s.insert(s.end(), o.overrides.begin(), o.overrides.end());
    return s;
}

std::vector<std::string> with_config(std::vector<std::string> command, const std::vector<std::string>& settings) {
    command.insert(command.end(), {"--config", source_dir() + "/conf/nidan.toml"});
    for (const auto& s : settings) command.insert(command.end(), {"--set", s});
    return command;
}

nidan::config load_same_config(const std::vector<std::string>& settings) {
    std::vector<nidan::config_override> overrides;
    for (const auto& s : settings) overrides.push_back(nidan::parse_override(s));
    return nidan::load_config(fs::path(source_dir()) / "conf/nidan.toml", overrides);
}

std::string hash_label(const options& o, const nidan::config& cfg) {
    const char* name = o.hash == hash_choice::fast ? "fast" : o.hash == hash_choice::minimal ? "minimal" : "shipped";
    return std::string(name) + " (m=" + std::to_string(cfg.hash.memory_kib) +
           " KiB t=" + std::to_string(cfg.hash.iterations) + ")";
}

// Runs the io_context on a thread of its own for as long as it lives; stopping it ends every
// coroutine still parked on it (the sink's).
class io_thread {
public:
    explicit io_thread(net::io_context& ioc) : ioc_(ioc), guard_(net::make_work_guard(ioc)), thread_([&ioc] { ioc.run(); }) {}
    ~io_thread() {
        guard_.reset();
        ioc_.stop();
        thread_.join();
    }
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;

private:
    net::io_context& ioc_;
    net::executor_work_guard<net::io_context::executor_type> guard_;
    std::thread thread_;
};

// Warnings and errors in the server's log: how many, and the first few distinct events.
void print_server_log_findings(const fs::path& log) {
    std::ifstream in(log);
    std::string line, events;
    unsigned warnings = 0, errors = 0, lines = 0;
    while (lines++ < 10000000 && std::getline(in, line)) {
        const bool warning = line.find("level=warn") != std::string::npos;
        const bool error = line.find("level=error") != std::string::npos;
        if (!warning && !error) continue;
        ++(warning ? warnings : errors);
        const auto at = line.find("event=");
        const auto event = at == std::string::npos ? std::string("?") : line.substr(at + 6, line.find(' ', at) - at - 6);
        if (events.find(event) == std::string::npos && events.size() < 200) events += (events.empty() ? "" : ", ") + event;
    }
    std::printf("server log: %u warnings, %u errors%s%s\n", warnings, errors, events.empty() ? "" : ": ", events.c_str());
}

int run(const options& o, const fs::path& work) {
    net::io_context ioc(1);
    load_world world;
    smtp_sink sink(ioc, world.box);
    const auto settings = settings_for(o, work / "data", sink.port());
    const auto cfg = load_same_config(settings);
    setup_figures setup{hash_label(o, cfg), 0, 0, first_line_of("/proc/loadavg").substr(0, 14)};
    const std::string nidan = o.nidan.empty() ? default_nidan_binary() : o.nidan;

    // One hash with the server's parameters for every account: the import stores it as it is,
    // and no login re-hashes.
    const auto phc = nidan::password_hasher({cfg.hash.memory_kib, cfg.hash.iterations}).hash(account_password);
    world.accounts = make_accounts(o.accounts, cfg.portals);
    const auto csv = work / "accounts.csv";
    write_import_csv(csv, world.accounts, phc);
    auto import_args = with_config({"user", "import"}, settings);
    import_args.push_back(csv.string());
    const auto import_start = clock_type::now();
    run_nidan(nidan, import_args, work);
    setup.import_s = seconds_between(import_start, clock_type::now());

    const bool postgres = cfg.storage.backend == nidan::storage_backend::postgres;
    if (o.nodes > 1 && !postgres) throw std::runtime_error("--nodes above 1 needs --set storage.backend=postgres");
    std::unique_ptr<PGconn, decltype(&PQfinish)> stats_db(nullptr, &PQfinish);
    if (postgres) {
        stats_db.reset(PQconnectdb(cfg.storage.postgres_url.c_str()));
        if (PQstatus(stats_db.get()) != CONNECTION_OK)
            throw std::runtime_error("cannot connect to storage.postgres_url: " + std::string(PQerrorMessage(stats_db.get())));
        world.stats_db = stats_db.get();
        world.postgres_data = o.postgres_data;
    }
    const auto serve_start = clock_type::now();
    std::vector<std::unique_ptr<server_child>> servers;
    for (unsigned i = 0; i < o.nodes; ++i) {
        const int cpu = o.pin_cores.empty() ? -1 : o.pin_cores[i];
        servers.push_back(std::make_unique<server_child>(nidan, with_config({"serve"}, settings), work,
                                                         "serve" + std::to_string(i), cpu));
        world.server_pids.push_back(servers.back()->pid());
        world.ports.push_back(servers.back()->port());
    }
    setup.server_start_s = seconds_between(serve_start, clock_type::now());
    world.max_attempts = o.max_logins;
    world.legit_accounts = o.accounts - o.victims;
    add_virtual_clients(world, o, ioc.get_executor());
    print_header(o, cfg, setup);
    std::fflush(stdout);

    const auto plans = plan_phases(o);
    std::vector<phase_result> results;
    std::unique_ptr<idle_holders> idle;
    if (o.idle_connections > 0)
        idle = std::make_unique<idle_holders>(o.idle_binary.empty() ? default_idle_binary() : o.idle_binary, work,
                                              o.idle_connections);
    {
        io_thread io(ioc);
        const phase_plan warm_up{"warm-up", warm_up_seconds, 0, {}};
        std::fprintf(stderr, "warm-up %.0f s, then %zu phases\n", warm_up_seconds, plans.size());
        net::co_spawn(ioc, run_phase(warm_up, world), net::use_future).get();
        for (std::size_t i = 0; i < plans.size(); ++i) {
            const auto& plan = plans[i];
            if (plan.idle_held) idle->open(world.ports.front(), world.server_pids.front());
            results.push_back({&plan, net::co_spawn(ioc, run_phase(plan, world), net::use_future).get()});
            if (plan.idle_held && (i + 1 == plans.size() || !plans[i + 1].idle_held)) idle->close();
            std::fprintf(stderr, "  %-26s %4.1f s %7.1f logins/s\n", plan.name.c_str(), results.back().stats.seconds,
                         results.back().stats.logins_per_s());
        }
        for (auto& server : servers) {
            const int exit_code = server->stop();  // while the sink still answers its QUIT
            if (exit_code != 0) std::printf("server exit code after SIGTERM: %d (expected 0)\n", exit_code);
        }
    }

    const auto rows = rows_of(results);
    print_throughput(rows);
    print_latencies(rows);
    print_outcomes(rows);
    print_ratios(rows, results);
    if (idle) idle->print();
    std::printf("\nsink: %llu mails (%llu without a code) over %llu SMTP connections\n",
                static_cast<unsigned long long>(sink.mails()), static_cast<unsigned long long>(sink.without_code()),
                static_cast<unsigned long long>(sink.connections()));
    for (const auto& server : servers) print_server_log_findings(server->log());
    if (!o.summary.empty()) write_summary(o.summary, setup.hash_label, rows);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const auto o = parse(argc, argv);
    // The server and the idle connection holders inherit it.
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::string pattern = (fs::temp_directory_path() / "nidan-login-load-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
        std::perror("mkdtemp");
        return 1;
    }
    const fs::path work = pattern;
    int status = 1;
    try {
        status = run(o, work);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_login_load: %s\n", e.what());
    }
    std::error_code ignored;
    fs::remove_all(work, ignored);
    return status;
}
