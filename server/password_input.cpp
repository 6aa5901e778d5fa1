#include "server/password_input.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

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

}  // namespace

std::optional<std::string> read_password_stdin() {
    auto line = read_line(STDIN_FILENO);
    if (!line) return std::nullopt;
    return strip_cr(std::move(*line));
}

std::optional<std::string> prompt_password(const char* prompt, bool confirm) {
    const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) {
        std::cerr << "no terminal to prompt on: pass the password with --password-stdin\n";
        return std::nullopt;
    }
    auto ask = [tty](const std::string& text) -> std::optional<std::string> {
        (void)!::write(tty, text.data(), text.size());
        echo_off guard(tty);
        auto line = read_line(tty);
        (void)!::write(tty, "\n", 1);
        if (!line) return std::nullopt;
        return strip_cr(std::move(*line));
    };
    auto first = ask(prompt);
    std::optional<std::string> result = first;
    if (first && confirm) {
        auto second = ask("again: ");
        if (!second || *second != *first) {
            std::cerr << "the two passwords differ\n";
            result.reset();
        }
    }
    ::close(tty);
    return result;
}

}  // namespace nidan::cli
