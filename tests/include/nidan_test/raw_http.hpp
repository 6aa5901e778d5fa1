#pragma once
// A deliberately simple HTTP/1.1 client over a blocking loopback socket, so tests can send
// exactly the bytes they want (malformed, smuggled, slow, pipelined) and read what comes back.
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace nidan_test {

struct http_reply {
    int status = 0;
    std::string reason;
    std::multimap<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::string header(const std::string& lower_name) const;  // "" when absent
};

struct source_unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class connection {
public:
    explicit connection(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // From the loopback address `source` (e.g. "127.0.0.2", another client to the server);
    // throws source_unavailable when the socket cannot be bound to it.
    connection(unsigned short port, std::chrono::milliseconds timeout, const std::string& source);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void send(const std::string& bytes);  // throws on error
    // Reads one response (Content-Length framed; HEAD replies: pass head=true). nullopt when the
    // peer closed before a full response or the timeout passed.
    std::optional<http_reply> read_reply(bool head = false);
    // True when the server closed the connection (read returns 0 or reset) within the timeout.
    bool closed_by_peer(std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
    std::string buffer_;
    std::chrono::milliseconds timeout_;
};

// One request on a fresh connection.
std::optional<http_reply> request(unsigned short port, const std::string& bytes, bool head = false);
// "GET path HTTP/1.1" with Host and Connection: close.
std::optional<http_reply> get(unsigned short port, const std::string& path);

}  // namespace nidan_test
