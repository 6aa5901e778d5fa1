#include "server/cli/password_input.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <stdexcept>

namespace nidan::cli {
namespace {

std::optional<std::string> read_line(int fd) {
    std::string line;
    char c;
    ssize_t n;
    while ((n = ::read(fd, &c, 1)) == 1) {
        if (c == '\n') return line;
        line += c;
    }
    if (line.empty()) return std::nullopt;
    return line;
}

std::string strip_cr(std::string s) {
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
}

class echo_off {
public:
    explicit echo_off(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) == 0) {
            termios quiet = saved_;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
        }
    }
    ~echo_off() {
        if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    }
    echo_off(const echo_off&) = delete;
    echo_off& operator=(const echo_off&) = delete;

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
};

// Writes the prompt to the terminal and reads one line with echo off.
std::optional<std::string> ask(int tty, const std::string& text) {
    (void)!::write(tty, text.data(), text.size());
    const echo_off guard(tty);
    auto line = read_line(tty);
    (void)!::write(tty, "\n", 1);
    if (!line) return std::nullopt;
    return strip_cr(std::move(*line));
}

}  // namespace

std::optional<std::string> read_password_stdin() {
    auto line = read_line(STDIN_FILENO);
    if (!line) return std::nullopt;
    return strip_cr(std::move(*line));
}

std::optional<std::string> prompt_password(const char* prompt, bool confirm) {
    const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) throw std::runtime_error("no terminal to prompt on: pass the password with --password-stdin");
    const fd_closer closer{tty};
    auto first = ask(tty, prompt);
    if (!first || !confirm) return first;
    auto second = ask(tty, "again: ");
    if (!second) return std::nullopt;
    if (*second != *first) throw std::runtime_error("the two passwords differ");
    return first;
}

}  // namespace nidan::cli
