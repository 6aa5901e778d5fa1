#pragma once
// A minimal cookie-keeping HTTP client for the page flows: it remembers cookies from
// Set-Cookie (and forgets those deleted with Max-Age=0 or less; Expires is not read), sends
// them back, posts url-encoded forms, and never follows redirects (a test looks at the 303 and its
// Location itself). One fresh loopback connection per request. Plus small HTML helpers to read
// hidden form fields out of a page.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nidan_test/raw_http.hpp"

namespace nidan_test {

using form_fields = std::vector<std::pair<std::string, std::string>>;
using header_list = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded encoding of one value (space as '+', unreserved kept).
std::string form_encode(std::string_view text);
// "a=1&b=2", each name and value encoded; order and duplicates kept as given.
std::string form_body(const form_fields& fields);

// One Set-Cookie header, split: name, value and the attributes (names lower-cased; a flag
// such as HttpOnly has an empty value).
struct set_cookie_header {
    std::string name;
    std::string value;
    std::map<std::string, std::string> attributes;
    bool has(const std::string& lower_name) const { return attributes.count(lower_name) != 0; }
    std::string attribute(const std::string& lower_name) const;  // "" when absent
};
std::optional<set_cookie_header> parse_set_cookie(const std::string& header_value);
// Every Set-Cookie of a reply, in order.
std::vector<set_cookie_header> set_cookies(const http_reply& reply);
// The reply's Set-Cookie for `name`; nullopt when it sets no such cookie.
std::optional<set_cookie_header> set_cookie_named(const http_reply& reply, const std::string& name);

// &amp; &lt; &gt; &quot; &#39; &#x27; &#NN; decoded (what mustache escaping produces).
std::string html_unescape(std::string_view text);
// The value attribute of the first <input ... name="NAME" ...>, unescaped; nullopt when no such
// input (or it has no value attribute).
std::optional<std::string> input_value(const std::string& html, const std::string& name);

class browser {
public:
    explicit browser(unsigned short port) : port_(port) {}

    // Throw std::runtime_error when no complete reply arrives within the client's timeout.
    http_reply get(const std::string& path, const header_list& extra = {});
    http_reply post_form(const std::string& path, const form_fields& fields, const header_list& extra = {});
    http_reply post(const std::string& path, const std::string& body, const std::string& content_type,
                    const header_list& extra = {});

    std::optional<std::string> cookie(const std::string& name) const;
    void set_cookie(const std::string& name, const std::string& value) { jar_[name] = value; }
    void drop_cookie(const std::string& name) { jar_.erase(name); }
    const std::map<std::string, std::string>& cookies() const { return jar_; }
    // The Cookie header this browser would send; "" without cookies.
    std::string cookie_header() const;
    unsigned short port() const { return port_; }

private:
    http_reply send(const std::string& method, const std::string& path, const std::string* body,
                    const std::string& content_type, const header_list& extra);
    void remember(const http_reply& reply);

    unsigned short port_;
    std::map<std::string, std::string> jar_;
};

}  // namespace nidan_test
