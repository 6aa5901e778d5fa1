#pragma once
// Structured logs: one event per line, "ts=... level=... event=NAME key=value ...".
// Three streams: the application log, the access log (one line per HTTP request) and the audit
// trail (security events). The audit trail must never receive a password, a code or a full phone
// number: callers pass masked values (see mask_phone / mask_email).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace spdlog { class logger; }

namespace nidan {

// [log] in the config file.
struct log_config {
    std::string level = "info";                // trace|debug|info|warn|error|off
    std::filesystem::path file;                // empty: stderr
    std::filesystem::path audit_file;          // empty: same sink as the main log
    bool access_log = true;
    // 0: every line of the main and access logs is written at once. Otherwise lines gather in
    // memory and are written at most this long after they were logged (or when 64 KiB gather,
    // a warning or an audit record comes, or the server stops). The audit trail's own file is
    // always written line by line.
    std::chrono::milliseconds flush_interval{1000};
};

}  // namespace nidan

namespace nidan::log {

enum class level { debug, info, warn, error };

// Sets up the three streams from config. Before init() everything goes to stderr at info.
// Throws config_error naming log.file / log.audit_file when a file cannot be opened.
void init(const log_config& config);
// Writes out what the buffered streams hold. Called at exit; safe from any thread.
void flush();

// One event, written when the builder goes out of scope (at the end of the full expression).
class event {
public:
    event(spdlog::logger& sink, level lvl, std::string_view name);
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    ~event();

    event& add(std::string_view key, std::string_view value);
    event& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
    event& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    event& add(std::string_view key, std::int64_t value);
    event& add(std::string_view key, std::uint64_t value);
    event& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
    event& add(std::string_view key, unsigned value) { return add(key, static_cast<std::uint64_t>(value)); }
    event& add(std::string_view key, long long value) { return add(key, static_cast<std::int64_t>(value)); }
    event& add(std::string_view key, unsigned long long value) { return add(key, static_cast<std::uint64_t>(value)); }
    event& add(std::string_view key, double value);
    event& add(std::string_view key, bool value) { return add(key, value ? "true" : "false"); }

private:
    spdlog::logger& sink_;
    level level_;
    std::string line_;
};

event debug(std::string_view name);
event info(std::string_view name);
event warn(std::string_view name);
event error(std::string_view name);
event access(std::string_view name);  // access log, level info
event audit(std::string_view name);   // audit trail, level info

// Quotes a value when it holds spaces, quotes, '=' or control bytes, so lines stay parseable.
void append_value(std::string& out, std::string_view value);

std::string mask_phone(std::string_view digits);  // "09012345678" -> "*******5678"
std::string mask_email(std::string_view email);   // "taro@example.jp" -> "t***@example.jp"

}  // namespace nidan::log
