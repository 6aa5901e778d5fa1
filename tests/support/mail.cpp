#include "nidan_test/mail.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

// Boost.JSON's symbols come from the library the mail tests link through nidan_server.
#include <boost/json.hpp>

namespace nidan_test {
namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string env_or(const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

std::vector<char*> argv_of(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    return argv;
}

void drain(int fd, std::string& into) {
    char buffer[4096];
    for (;;) {
        auto n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) return;
        into.append(buffer, static_cast<std::size_t>(n));
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool accepts_connections(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

// Waits for the child without blocking forever; true when it exited.
bool reap(pid_t pid, std::chrono::milliseconds timeout) {
    return eventually([pid] { return ::waitpid(pid, nullptr, WNOHANG) == pid; }, timeout, 10ms);
}

std::vector<std::string> relay_command(const relay_options& o, unsigned short port) {
    if (o.kind == relay_kind::aiosmtpd) {
        std::vector<std::string> argv{test_python(), source_dir() + "/tests/support/smtp_relay.py",
                                      "--listen", "127.0.0.1:" + std::to_string(port), "--dir", o.mail_dir.string()};
        argv.insert(argv.end(), o.args.begin(), o.args.end());
        return argv;
    }
    std::vector<std::string> argv{env_or("NIDAN_SMTP_SINK", "/usr/sbin/smtp-sink")};
    // smtp-sink refuses to keep root privileges; it only needs to write into mail_dir.
    if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "root"});
    argv.insert(argv.end(), {"-d", (o.mail_dir / "%M.").string()});
    argv.insert(argv.end(), o.args.begin(), o.args.end());
    argv.insert(argv.end(), {"127.0.0.1:" + std::to_string(port), "64"});
    return argv;
}

}  // namespace

command_result run_program(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe failed");
    auto argv = argv_of(args);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    ::fcntl(err[0], F_SETFL, O_NONBLOCK);
    command_result result;
    const auto deadline = clock::now() + timeout;
    int status = 0;
    bool exited = false;
    while (!exited && clock::now() < deadline) {
        pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
        ::poll(fds, 2, 20);
        drain(out[0], result.out);
        drain(err[0], result.err);
        exited = ::waitpid(pid, &status, WNOHANG) == pid;
    }
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    } else if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    }
    drain(out[0], result.out);
    drain(err[0], result.err);
    ::close(out[0]);
    ::close(err[0]);
    return result;
}

std::string test_python() { return env_or("NIDAN_TEST_PYTHON", "/usr/bin/python3"); }

unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

relay_process::relay_process(relay_options options) {
    static std::atomic<unsigned> started{0};
    fs::create_directories(options.mail_dir);
    // Next to the mail folder, not in it: smtp-sink's dump files have no suffix to filter on.
    log_ = options.mail_dir.parent_path() /
           (options.mail_dir.filename().string() + ".relay" + std::to_string(++started) + ".log");
    // smtp-sink cannot pick its port and report it; smtp_relay.py can, avoiding the race.
    const unsigned short wanted = options.port != 0 || options.kind == relay_kind::aiosmtpd ? options.port : free_port();
    auto args = relay_command(options, wanted);
    auto argv = argv_of(args);

    const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) throw std::runtime_error("cannot create " + log_.string());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(log_fd);

    const bool up = eventually(
        [&] {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return true;  // exited: reported below
            }
            if (options.kind == relay_kind::smtp_sink) {
                if (accepts_connections(wanted)) port_ = wanted;
                return port_ != 0;
            }
            const auto text = output();
            const auto at = text.find("listening on ");
            const auto eol = at == std::string::npos ? at : text.find('\n', at);
            if (eol == std::string::npos) return false;
            port_ = static_cast<unsigned short>(std::stoi(text.substr(at + 13, eol - at - 13)));
            return true;
        },
        options.start_deadline, 20ms);
    if (!up || pid_ < 0 || port_ == 0) {
        stop();
        throw std::runtime_error("the test relay did not start (" + args.front() + "): " + output());
    }
}

relay_process::~relay_process() { stop(); }

void relay_process::stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    if (!reap(pid_, 3s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
}

std::string relay_process::output() const { return read_file(log_); }

std::size_t relay_process::count_events(const std::string& line) const {
    std::istringstream in(output());
    std::size_t n = 0;
    for (std::string l; std::getline(in, l);) {
        if (l == line || (l.starts_with(line) && l.size() > line.size() && l[line.size()] == ' ')) ++n;
    }
    return n;
}

std::vector<fs::path> mail_files(const fs::path& dir, const std::string& suffix) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (it->is_regular_file(ec) && name.ends_with(suffix)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<fs::path> wait_for_mails(const fs::path& dir, std::size_t count, std::chrono::milliseconds timeout,
                                     const std::string& suffix) {
    std::vector<fs::path> files;
    eventually(
        [&] {
            files = mail_files(dir, suffix);
            return files.size() >= count;
        },
        timeout);
    return files;
}

std::string decoded_mail::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

decoded_mail decode_mail(const fs::path& file) {
    auto result = run_program({test_python(), source_dir() + "/tests/support/decode_mail.py", file.string()}, 20s);
    if (result.exit_code != 0) throw std::runtime_error("decode_mail.py failed on " + file.string() + ": " + result.err);
    const auto json = boost::json::parse(result.out).as_object();
    auto text = [&json](const char* key) { return std::string(json.at(key).as_string()); };
    decoded_mail mail;
    mail.from = text("from");
    mail.to = text("to");
    mail.from_address = text("from_address");
    mail.to_address = text("to_address");
    mail.subject = text("subject");
    mail.body = text("body");
    for (const auto& [name, value] : json.at("headers").as_object())
        mail.headers.emplace(std::string(name), std::string(value.as_string()));
    mail.raw_line_max = static_cast<std::size_t>(json.at("raw_line_max").as_int64());
    return mail;
}

test_pki make_test_pki(const fs::path& dir, const std::string& name) {
    const auto base = dir / name;
    test_pki pki{base.string() + "-ca.pem", base.string() + "-relay.pem", base.string() + "-relay.key"};
    const std::string ca_key = base.string() + "-ca.key";
    const std::string csr = base.string() + "-relay.csr";
    const std::string extensions = base.string() + "-relay.ext";
    std::ofstream(extensions) << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    const std::vector<std::vector<std::string>> steps{
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
         "-out", pki.ca_cert.string(), "-days", "2", "-subj", "/CN=nidan test CA " + name,
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
        {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         pki.relay_key.string(), "-out", csr, "-subj", "/CN=127.0.0.1"},
        {"openssl", "x509", "-req", "-in", csr, "-CA", pki.ca_cert.string(), "-CAkey", ca_key, "-CAcreateserial",
         "-out", pki.relay_cert.string(), "-days", "2", "-extfile", extensions},
    };
    for (const auto& step : steps) {
        auto result = run_program(step);
        if (result.exit_code != 0) throw std::runtime_error("openssl " + step[1] + " failed: " + result.err);
    }
    return pki;
}

long long metric_value(const std::string& metrics_text, const std::string& name) {
    std::istringstream in(metrics_text);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(name + " ")) return std::stoll(line.substr(name.size() + 1));
    }
    return -1;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

}  // namespace nidan_test
