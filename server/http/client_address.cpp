#include "server/http/client_address.hpp"

#include "core/base/text.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>

namespace nidan::server {
namespace {

// IPv4-mapped IPv6 peers (::ffff:10.0.0.1) compare equal to their IPv4 form.
net::ip::address plain(const net::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    return a;
}

}  // namespace

bool is_trusted_proxy(const net::ip::address& peer, const std::vector<net::ip::address>& trusted_proxies) {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), plain(peer)) != trusted_proxies.end();
}

net::ip::address client_address(const request& req, const net::ip::address& peer,
                                 const std::vector<net::ip::address>& trusted_proxies) {
    const auto from = plain(peer);
    if (!is_trusted_proxy(from, trusted_proxies)) return from;
    // The proxy appends the address it saw to the end of the (last) header; entries before it
    // were written by the client and prove nothing.
    std::string_view header;
    for (const auto& field : req) {
        if (beast::iequals(field.name_string(), "X-Forwarded-For")) header = field.value();
    }
    if (header.empty()) return from;
    const auto comma = header.rfind(',');
    const auto last = trim_ows(comma == std::string_view::npos ? header : header.substr(comma + 1));
    boost::system::error_code ec;
    auto address = net::ip::make_address(std::string(last), ec);
    return ec ? from : plain(address);
}

std::vector<net::ip::address> parse_proxies(const std::vector<std::string>& texts) {
    std::vector<net::ip::address> out;
    for (const auto& t : texts) out.push_back(plain(net::ip::make_address(t)));
    return out;
}

}  // namespace nidan::server
