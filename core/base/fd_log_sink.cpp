#include "core/base/fd_log_sink.hpp"

#include "core/base/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nidan::log {

std::shared_ptr<fd_sink> fd_sink::to_stderr(mode m) {
    return std::make_shared<fd_sink>(STDERR_FILENO, false, m);
}

std::shared_ptr<fd_sink> fd_sink::to_file(const std::filesystem::path& file, const std::string& key,
                                          mode m) {
    // A log holds client addresses and IDs: a file created here gets 0640 whatever the umask.
    // An existing file keeps its mode (the start warns when others can read it).
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd >= 0) {
        ::fchmod(fd, 0640);
    } else if (errno == EEXIST) {
        fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    }
    // A folder fails here too (EISDIR: it cannot be opened for writing).
    if (fd < 0) throw config_error(key, "cannot open log file " + file.string() + ": " + std::strerror(errno));
    return std::make_shared<fd_sink>(fd, true, m);
}

fd_sink::fd_sink(int fd, bool owns_fd, mode m) : fd_(fd), owns_fd_(owns_fd), mode_(m) {}

fd_sink::~fd_sink() {
    std::lock_guard lock(mutex_);
    write_pending();
    if (owns_fd_) ::close(fd_);
}

void fd_sink::sink_it_(const spdlog::details::log_msg& msg) {
    formatter_->format(msg, pending_);
    if (mode_ == mode::each_line || pending_.size() >= gather_limit) write_pending();
}

void fd_sink::flush_() { write_pending(); }

void fd_sink::write_pending() {
    const char* at = pending_.data();
    std::size_t left = pending_.size();
    while (left > 0) {
        const ssize_t n = ::write(fd_, at, left);
        if (n < 0 && errno == EINTR) continue;
        // A log that cannot be written (disk full, closed pipe) has nowhere to report that;
        // the lines are dropped rather than kept growing in memory.
        if (n <= 0) break;
        at += n;
        left -= static_cast<std::size_t>(n);
    }
    pending_.clear();
}

}  // namespace nidan::log
