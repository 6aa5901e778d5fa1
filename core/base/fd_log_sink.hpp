#pragma once
// The log's own sink: formatted lines go to a file descriptor (stderr or a log file) with
// write(2), either one write per line or gathered in memory and written in one go when
// flushed. spdlog's stderr sink flushes stdio after every line, which costs a system call per
// HTTP request under load; gathering the access log's lines is what nginx's buffer= does.
#include <spdlog/sinks/base_sink.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>

namespace nidan::log {

class fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    enum class mode { each_line, gathered };

    // Writes to stderr; the descriptor stays open after the sink.
    static std::shared_ptr<fd_sink> to_stderr(mode m);
    // Appends to `file`, created 0640 when it does not exist. Throws config_error naming `key`.
    static std::shared_ptr<fd_sink> to_file(const std::filesystem::path& file, const std::string& key, mode m);

    fd_sink(int fd, bool owns_fd, mode m);
    fd_sink(const fd_sink&) = delete;
    fd_sink& operator=(const fd_sink&) = delete;
    ~fd_sink() override;

    // Gathered bytes beyond which a line is written at once, without waiting for a flush.
    static constexpr std::size_t gather_limit = 64 * 1024;

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    void write_pending();

    int fd_;
    bool owns_fd_;
    mode mode_;
    spdlog::memory_buf_t pending_;
};

}  // namespace nidan::log
