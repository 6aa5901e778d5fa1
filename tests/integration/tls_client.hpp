#pragma once
// HTTPS for the integration tests: a throw-away certificate for 127.0.0.1 made with openssl, and
// a cookie-keeping client that sends each request through curl (checking the server against
// that certificate), with the test browser's interface (get, post_form, cookie), so
// portal_client.hpp's login steps run over TLS too.
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nidan_test/browser.hpp"
#include "nidan_test/raw_http.hpp"
#include "nidan_test/temp_dir.hpp"

namespace nidan_test {

// The standard output of a shell command.
inline std::string run_shell(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) return out;
    char buffer[4096];
    while (auto n = std::fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
    return out;
}

// A self-signed P-256 certificate for CN=localhost and IP 127.0.0.1, valid for a day, in `dir`.
struct certificate {
    std::string cert, key;
    explicit certificate(const temp_dir& dir) : cert((dir / "cert.pem").string()), key((dir / "key.pem").string()) {
        const auto command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " + key +
                             " -out " + cert + " 2>/dev/null";
        BOOST_REQUIRE(std::system(command.c_str()) == 0);
    }
    // The --set overrides that make nidan serve HTTPS with it.
    std::vector<std::string> settings() const {
        return {"tls.enabled=true", "tls.cert_file=" + cert, "tls.key_file=" + key};
    }
};

// `curl -i` output (status line, headers, blank line, body) as a reply; status 0 when curl
// printed no response.
inline http_reply parse_curl_output(const std::string& out) {
    http_reply reply;
    const auto end = out.find("\r\n\r\n");
    if (out.compare(0, 5, "HTTP/") != 0 || end == std::string::npos) return reply;
    const auto line_end = out.find("\r\n");
    const auto space = out.find(' ');
    reply.status = std::atoi(out.c_str() + space + 1);
    std::size_t pos = line_end + 2;
    while (pos < end) {
        const auto next = out.find("\r\n", pos);
        const auto line = out.substr(pos, next - pos);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            reply.headers.emplace(std::move(name), std::move(value));
        }
        pos = next + 2;
    }
    reply.body = out.substr(end + 4);
    return reply;
}

// One curl per request to https://127.0.0.1:PORT, never following redirects; cookies kept as
// the test browser keeps them (Max-Age=0 deletes).
class tls_browser {
public:
    tls_browser(const certificate& c, unsigned short port) : cert_(c.cert), port_(port) {}

    http_reply get(const std::string& path, const header_list& extra = {}) { return send(path, "", extra); }
    http_reply post_form(const std::string& path, const form_fields& fields, const header_list& extra = {}) {
        // form_body percent-encodes everything but unreserved characters: no quote reaches the shell.
        auto headers = extra;
        headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        return send(path, " --data-raw '" + form_body(fields) + "'", headers);
    }
    std::optional<std::string> cookie(const std::string& name) const {
        const auto it = jar_.find(name);
        if (it == jar_.end()) return std::nullopt;
        return it->second;
    }
    void set_cookie(const std::string& name, const std::string& value) { jar_[name] = value; }

private:
    http_reply send(const std::string& path, const std::string& body_args, const header_list& extra) {
        std::string command = "curl -sS -i --max-time 10 --cacert " + cert_ + body_args;
        std::string cookies;
        for (const auto& [name, value] : jar_) cookies += (cookies.empty() ? "" : "; ") + name + "=" + value;
        if (!cookies.empty()) command += " -H 'Cookie: " + cookies + "'";
        for (const auto& [name, value] : extra) command += " -H '" + name + ": " + value + "'";
        command += " 'https://127.0.0.1:" + std::to_string(port_) + path + "'";
        auto reply = parse_curl_output(run_shell(command));
        BOOST_TEST_REQUIRE(reply.status != 0, "no HTTPS reply to " << path);
        for (const auto& c : set_cookies(reply)) {
            const auto max_age = c.attribute("max-age");
            if (!max_age.empty() && std::atol(max_age.c_str()) <= 0) jar_.erase(c.name);
            else jar_[c.name] = c.value;
        }
        return reply;
    }

    std::string cert_;
    unsigned short port_;
    std::map<std::string, std::string> jar_;
};

}  // namespace nidan_test
