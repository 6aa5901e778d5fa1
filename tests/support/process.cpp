#include "nidan_test/process.hpp"

#include "nidan_test/postgres_registry.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace nidan_test {
namespace {

using clock = std::chrono::steady_clock;

std::vector<char*> argv_of(const std::string& binary, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    return argv;
}

void read_available(int fd, std::string& into) {
    char buffer[4096];
    for (;;) {
        auto n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) return;
        into.append(buffer, static_cast<std::size_t>(n));
    }
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

std::string nidan_binary() {
    const char* path = std::getenv("NIDAN_BINARY");
    if (!path || !*path) throw std::runtime_error("NIDAN_BINARY is not set (run the tests through ctest)");
    return path;
}

std::string source_dir() { return NIDAN_SOURCE_DIR; }

// A command on a folder that a login_world keeps in PostgreSQL goes to that database, as the
// server does, unless the command names a backend itself.
std::vector<std::string> with_backend(std::vector<std::string> args) {
    std::string url;
    for (const auto& a : args) {
        if (a.starts_with("storage.backend=")) return args;
        if (a.starts_with("storage.data_dir=")) url = postgres_url_of(a.substr(a.find('=') + 1));
    }
    if (!url.empty()) args.insert(args.end(), {"--set", "storage.backend=postgres", "--set", "storage.postgres_url=" + url});
    return args;
}

command_result run_nidan(const std::vector<std::string>& given_args, const std::string& stdin_text,
                         std::chrono::seconds timeout) {
    const auto args = with_backend(given_args);
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
        throw std::runtime_error("pipe failed");
    const auto binary = nidan_binary();
    auto argv = argv_of(binary, args);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    // Small inputs fit the pipe buffer, so writing before reading cannot deadlock.
    if (!stdin_text.empty()) (void)!::write(in[1], stdin_text.data(), stdin_text.size());
    ::close(in[1]);

    command_result result;
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    ::fcntl(err[0], F_SETFL, O_NONBLOCK);
    const auto deadline = clock::now() + timeout;
    int status = 0;
    bool exited = false;
    while (!exited && clock::now() < deadline) {
        pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
        ::poll(fds, 2, 50);
        read_available(out[0], result.out);
        read_available(err[0], result.err);
        exited = ::waitpid(pid, &status, WNOHANG) == pid;
    }
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    } else {
        result.exit_code = decode_status(status);
    }
    read_available(out[0], result.out);
    read_available(err[0], result.err);
    ::close(out[0]);
    ::close(err[0]);
    return result;
}

server_process::server_process(const std::string& data_dir, const std::vector<std::string>& overrides) {
    std::vector<std::string> args{"serve", "--config", source_dir() + "/conf/nidan.toml",
                                  "--set", "server.listen=127.0.0.1:0",
                                  "--set", "storage.data_dir=" + data_dir,
                                  "--set", "server.templates_dir=" + source_dir() + "/templates",
                                  "--set", "server.static_dir=" + source_dir() + "/static",
                                  // Tests read the log right after a request; the buffered log
                                  // has its own test (test_log_buffering) and may be asked for
                                  // by an override.
                                  "--set", "log.flush_interval_ms=0"};
    for (const auto& o : overrides) {
        args.push_back("--set");
        args.push_back(o);
    }
    args = with_backend(std::move(args));
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe failed");
    const auto binary = nidan_binary();
    auto argv = argv_of(binary, args);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        const int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    stderr_fd_ = err[0];
    ::fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);

    std::string stdout_text;
    const auto deadline = clock::now() + std::chrono::seconds(30);
    const std::string marker = "listening on ";
    while (clock::now() < deadline) {
        pollfd fds[2] = {{out[0], POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
        ::poll(fds, 2, 50);
        read_available(out[0], stdout_text);
        read_available(stderr_fd_, log_);
        auto at = stdout_text.find(marker);
        auto eol = at == std::string::npos ? std::string::npos : stdout_text.find('\n', at);
        if (eol != std::string::npos) {
            // "listening on http://127.0.0.1:PORT" or https://...
            auto address = stdout_text.substr(at + marker.size(), eol - at - marker.size());
            port_ = static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
            break;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_ = decode_status(status);
            break;
        }
    }
    ::close(out[0]);
    if (port_ == 0) {
        const auto log = log_text();
        if (!exit_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            exit_ = -1;
        }
        throw std::runtime_error("nidan serve did not start: " + log);
    }
}

server_process::~server_process() {
    if (!exit_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

void server_process::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (!exit_ && clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_ = decode_status(status);
            break;
        }
        read_available(stderr_fd_, log_);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_;
}

std::string server_process::log_text() {
    if (stderr_fd_ >= 0) read_available(stderr_fd_, log_);
    return log_;
}

}  // namespace nidan_test
