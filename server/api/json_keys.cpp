#include "server/api/json_keys.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <set>
#include <string>
#include <vector>

namespace nidan::server {
namespace {

namespace json = boost::json;

// A basic_parser handler that keeps the keys of every open object and stops at the first repeat.
// Keys arrive whole in on_key, after any number of on_key_part pieces.
struct key_watch {
    static constexpr std::size_t max_array_size = -1;
    static constexpr std::size_t max_object_size = -1;
    static constexpr std::size_t max_string_size = -1;
    static constexpr std::size_t max_key_size = -1;

    std::vector<std::set<std::string>> open_objects;
    std::string key;
    bool repeated = false;

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }
    bool on_array_begin(json::error_code&) { return true; }
    bool on_array_end(std::size_t, json::error_code&) { return true; }
    bool on_object_begin(json::error_code&) {
        open_objects.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, json::error_code&) {
        open_objects.pop_back();
        return true;
    }
    bool on_key_part(json::string_view part, std::size_t, json::error_code&) {
        key.append(part.data(), part.size());
        return true;
    }
    bool on_key(json::string_view part, std::size_t, json::error_code& ec) {
        key.append(part.data(), part.size());
        const bool fresh = open_objects.back().insert(std::move(key)).second;
        key.clear();
        if (fresh) return true;
        repeated = true;
        ec = json::make_error_code(json::error::extra_data);  // stops the parser: the answer is known
        return false;
    }
    bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
    bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
    bool on_number_part(json::string_view, json::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
    bool on_double(double, json::string_view, json::error_code&) { return true; }
    bool on_bool(bool, json::error_code&) { return true; }
    bool on_null(json::error_code&) { return true; }
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

bool has_repeated_keys(std::string_view json_text) {
    json::basic_parser<key_watch> parser(json::parse_options{});
    json::error_code ec;
    parser.write_some(false, json_text.data(), json_text.size(), ec);
    return parser.handler().repeated;
}

}  // namespace nidan::server
