#pragma once
// The client a request comes from: the socket's peer, or, when that peer is a proxy listed in
// server.trusted_proxies, the address that proxy appended to X-Forwarded-For. A header from
// anyone else is ignored, so a client cannot pick the address its failures are counted under.
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "server/base/http_types.hpp"

namespace nidan::server {

net::ip::address client_address(const request& req, const net::ip::address& peer,
                                 const std::vector<net::ip::address>& trusted_proxies);

// Whether the socket peer is one of server.trusted_proxies. An IPv4-mapped peer (what a
// dual-stack [::] listener reports for an IPv4 client) matches the IPv4 entry.
bool is_trusted_proxy(const net::ip::address& peer, const std::vector<net::ip::address>& trusted_proxies);

// Parses server.trusted_proxies (already validated by the config loader).
std::vector<net::ip::address> parse_proxies(const std::vector<std::string>& texts);

}  // namespace nidan::server
