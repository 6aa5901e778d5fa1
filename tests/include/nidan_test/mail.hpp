#pragma once
// SMTP relays for the mail tests, run as child processes on 127.0.0.1: tests/support/smtp_relay.py
// (aiosmtpd, with TLS, AUTH and fault modes) or Postfix's smtp-sink; and reading what they
// received. Every wait has a deadline. No nidan headers here: the support library is built
// without them (see mail_outbox.hpp for putting mails into an outbox).
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "nidan_test/process.hpp"

namespace nidan_test {

// Polls `done` every `interval` until it returns true or `timeout` passes; returns its last value.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(50)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(interval);
    }
}

// Runs a program (argv[0] a path), captures stdout and stderr, kills it after `timeout`.
command_result run_program(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The Python with aiosmtpd ($NIDAN_TEST_PYTHON, else the system's /usr/bin/python3).
std::string test_python();
// A loopback TCP port nobody listened on a moment ago (for a relay that is started later).
unsigned short free_port();

enum class relay_kind {
    aiosmtpd,   // tests/support/smtp_relay.py; mails kept as DIR/*.eml
    smtp_sink,  // Postfix smtp-sink ($NIDAN_SMTP_SINK, else /usr/sbin/smtp-sink); dump files DIR/MM.xxxx
};

struct relay_options {
    relay_kind kind = relay_kind::aiosmtpd;
    std::filesystem::path mail_dir;           // created when missing
    unsigned short port = 0;                  // 0: any free port
    std::vector<std::string> args;            // extra arguments ("--reply-rcpt", "550 ..." / "-Q", "MAIL")
    std::chrono::milliseconds start_deadline{10000};
};

class relay_process {
public:
    // Starts the relay and waits until it accepts connections; throws (with its output) when
    // it does not within the deadline.
    explicit relay_process(relay_options options);
    ~relay_process();  // stop()
    relay_process(const relay_process&) = delete;
    relay_process& operator=(const relay_process&) = delete;

    unsigned short port() const { return port_; }
    // SIGTERM, SIGKILL after 3 s; the port is free again afterwards. Idempotent.
    void stop();
    // What the relay printed so far (smtp_relay.py: one event per line, see its docstring).
    std::string output() const;
    // Lines of output() equal to `line` or starting with it followed by a space.
    std::size_t count_events(const std::string& line) const;

private:
    pid_t pid_ = -1;
    unsigned short port_ = 0;
    std::filesystem::path log_;
};

// Files in `dir` (sorted by name), only those ending with `suffix` ("" for all). Never throws
// for a missing folder.
std::vector<std::filesystem::path> mail_files(const std::filesystem::path& dir, const std::string& suffix = ".eml");
// Waits until `dir` holds at least `count` such files; returns them (fewer after the timeout).
std::vector<std::filesystem::path> wait_for_mails(const std::filesystem::path& dir, std::size_t count,
                                                  std::chrono::milliseconds timeout,
                                                  const std::string& suffix = ".eml");

struct decoded_mail {
    std::string from;          // the From header, decoded ("楽天コミュニケーションズ <no-reply@...>")
    std::string to;
    std::string from_address;  // addr-spec of From
    std::string to_address;
    std::string subject;       // decoded
    std::string body;          // the text part decoded, line ends as sent (CRLF)
    std::map<std::string, std::string> headers;  // decoded, first occurrence of each name
    std::size_t raw_line_max = 0;                // longest stored line, line end excluded
    std::string header(const std::string& name) const;  // "" when absent
};
// Runs tests/support/decode_mail.py on one stored mail; throws when it fails.
decoded_mail decode_mail(const std::filesystem::path& file);

// A test CA and a relay certificate for IP:127.0.0.1 signed by it, made with the openssl CLI.
struct test_pki {
    std::filesystem::path ca_cert;
    std::filesystem::path relay_cert;
    std::filesystem::path relay_key;
};
// Creates DIR/<name>-ca.pem, DIR/<name>-relay.pem and DIR/<name>-relay.key; throws on failure.
test_pki make_test_pki(const std::filesystem::path& dir, const std::string& name);

// The value of one sample in a Prometheus text body; -1 when it is not there.
long long metric_value(const std::string& metrics_text, const std::string& name);
// Non-overlapping occurrences of `needle` in `text`.
std::size_t count_of(const std::string& text, const std::string& needle);

}  // namespace nidan_test
