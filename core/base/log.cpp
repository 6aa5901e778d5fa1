#include "core/base/log.hpp"

#include "core/base/fd_log_sink.hpp"
#include "core/base/thread_name.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

namespace nidan::log {
namespace {

struct streams {
    std::shared_ptr<spdlog::logger> app;
    std::shared_ptr<spdlog::logger> access;
    std::shared_ptr<spdlog::logger> audit;
};

constexpr const char* pattern = "ts=%Y-%m-%dT%H:%M:%S.%fZ level=%l %v";

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, spdlog::sink_ptr sink) {
    auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
    logger->set_pattern(pattern, spdlog::pattern_time_type::utc);
    logger->flush_on(spdlog::level::warn);
    return logger;
}

streams make_default_streams() {
    auto sink = fd_sink::to_stderr(fd_sink::mode::each_line);
    return {make_logger("app", sink), make_logger("access", sink), make_logger("audit", sink)};
}

std::mutex streams_mutex;
streams& current() {
    static streams instance = make_default_streams();
    return instance;
}

// Writes out the gathered lines every interval, and once more when it stops (at exit, or when
// init() replaces it).
class periodic_flusher {
public:
    explicit periodic_flusher(std::chrono::milliseconds interval)
        : thread_([interval](std::stop_token stop) {
              name_this_thread("nidan-log");
              std::mutex m;
              std::condition_variable_any wake;
              std::unique_lock lock(m);
              while (!stop.stop_requested()) {
                  wake.wait_for(lock, stop, interval, [] { return false; });
                  flush();
              }
          }) {}

private:
    std::jthread thread_;
};

std::unique_ptr<periodic_flusher>& flusher() {
    // The streams are made first so that, at exit, the flusher is stopped before they go.
    current();
    static std::unique_ptr<periodic_flusher> instance;
    return instance;
}

spdlog::level::level_enum parse_level(const std::string& text) {
    if (text == "trace") return spdlog::level::trace;
    if (text == "debug") return spdlog::level::debug;
    if (text == "warn") return spdlog::level::warn;
    if (text == "error") return spdlog::level::err;
    if (text == "off") return spdlog::level::off;
    return spdlog::level::info;
}

spdlog::sink_ptr open_sink(const std::filesystem::path& file, const std::string& key,
                           fd_sink::mode mode, const spdlog::sink_ptr& fallback) {
    if (file.empty()) return fallback;
    return fd_sink::to_file(file, key, mode);
}

spdlog::level::level_enum to_spdlog(level lvl) {
    switch (lvl) {
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

bool needs_quotes(std::string_view value) {
    if (value.empty()) return true;
    for (unsigned char c : value) {
        if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
    }
    return false;
}

}  // namespace

void init(const log_config& config) {
    const bool gathered = config.flush_interval.count() > 0;
    const auto main_mode = gathered ? fd_sink::mode::gathered : fd_sink::mode::each_line;
    spdlog::sink_ptr console = fd_sink::to_stderr(main_mode);
    auto main_sink = open_sink(config.file, "log.file", main_mode, console);
    // The audit trail's own file is written line by line: a record must not wait in memory.
    auto audit_sink = open_sink(config.audit_file, "log.audit_file", fd_sink::mode::each_line, main_sink);
    streams fresh{make_logger("app", main_sink), make_logger("access", main_sink),
                  make_logger("audit", audit_sink)};
    fresh.app->set_level(parse_level(config.level));
    fresh.access->set_level(config.access_log ? spdlog::level::info : spdlog::level::off);
    // The audit trail is kept whatever the log level: it is a record, not a diagnostic.
    fresh.audit->set_level(spdlog::level::info);
    fresh.audit->flush_on(spdlog::level::info);
    flusher().reset();  // the old streams' lines are written before the new ones take over
    {
        std::lock_guard lock(streams_mutex);
        current() = std::move(fresh);
    }
    if (gathered) flusher() = std::make_unique<periodic_flusher>(config.flush_interval);
}

void flush() {
    std::lock_guard lock(streams_mutex);
    current().app->flush();
    current().access->flush();
    current().audit->flush();
}

event::event(spdlog::logger& sink, level lvl, std::string_view name) : sink_(sink), level_(lvl) {
    if (!sink_.should_log(to_spdlog(level_))) return;
    line_.reserve(128);
    line_ += "event=";
    line_ += name;
}

event::~event() {
    if (line_.empty()) return;
    sink_.log(to_spdlog(level_), std::string_view(line_));
}

event& event::add(std::string_view key, std::string_view value) {
    if (line_.empty()) return *this;
    line_ += ' ';
    line_ += key;
    line_ += '=';
    append_value(line_, value);
    return *this;
}

event& event::add(std::string_view key, std::int64_t value) {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return add(key, std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
}

event& event::add(std::string_view key, std::uint64_t value) {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return add(key, std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
}

event& event::add(std::string_view key, double value) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 3);
    return add(key, std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
}

void append_value(std::string& out, std::string_view value) {
    if (!needs_quotes(value)) {
        out += value;
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

event debug(std::string_view name) { return event(*current().app, level::debug, name); }
event info(std::string_view name) { return event(*current().app, level::info, name); }
event warn(std::string_view name) { return event(*current().app, level::warn, name); }
event error(std::string_view name) { return event(*current().app, level::error, name); }
event access(std::string_view name) { return event(*current().access, level::info, name); }
event audit(std::string_view name) { return event(*current().audit, level::info, name); }

std::string mask_phone(std::string_view digits) {
    const std::size_t shown = digits.size() > 4 ? 4 : 0;
    std::string out(digits.size() - shown, '*');
    out += digits.substr(digits.size() - shown);
    return out;
}

std::string mask_email(std::string_view email) {
    auto at = email.find('@');
    if (at == std::string_view::npos || at == 0) return std::string(email.empty() ? "" : "***");
    std::string out(1, email.front());
    out += "***";
    out += email.substr(at);
    return out;
}

}  // namespace nidan::log
