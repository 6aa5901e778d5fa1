#pragma once
// Runs the real `nidan` binary (path from the NIDAN_BINARY environment variable, set by ctest)
// as a child process: one-shot commands with captured output, or a server that is started on a
// free loopback port and stopped with a signal.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace nidan_test {

std::string nidan_binary();
std::string source_dir();  // the repository root (templates/, static/, conf/)

struct command_result {
    int exit_code = -1;  // -1: killed by a signal or timed out
    std::string out;
    std::string err;
};

// Runs nidan with args, writes stdin_text to its standard input, waits at most `timeout`.
command_result run_nidan(const std::vector<std::string>& args, const std::string& stdin_text = "",
                         std::chrono::seconds timeout = std::chrono::seconds(60));

class server_process {
public:
    // Starts `nidan serve` with the shipped conf/nidan.toml, listen 127.0.0.1:0, templates and
    // static folders of the source tree, data_dir as given, then the extra --set overrides
    // ("section.key=value"). Waits for "listening on http(s)://HOST:PORT" (throws after 30 s).
    server_process(const std::string& data_dir, const std::vector<std::string>& overrides = {});
    ~server_process();  // SIGKILL if still running
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    unsigned short port() const { return port_; }
    pid_t pid() const { return pid_; }

    void signal(int sig) const;
    // Waits for the exit; nullopt on timeout. Exit code, or 128+signal when killed by one.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // Everything the server wrote to stderr so far (its logs).
    std::string log_text();

private:
    pid_t pid_ = -1;
    int stderr_fd_ = -1;
    unsigned short port_ = 0;
    std::string log_;
    std::optional<int> exit_;
};

}  // namespace nidan_test
