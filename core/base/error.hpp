#pragma once
// Domain errors shared by core/ and storage/. Each maps to one HTTP status in the server
// (see server/http/error_status.cpp), so a handler never picks a status by itself.
//
// How errors travel (the policy; follow it in new code):
// - Expected failures on I/O and storage paths are values: std::error_code with errc (or
//   Asio's codes, via `use_tuple`, server/base/awaitables.hpp), or an outcome enum of a login
//   step (core/login). A customer's wrong input is an outcome, never an exception.
// - Exceptions are for startup and programming errors: config_error (a bad config value: stops
//   startup), std::invalid_argument (a caller broke a precondition; in the CLI: a usage error),
//   std::system_error carrying an errc when storage fails below a handler (storage_full ...).
// - In the server an exception that escapes a request handler is logged once and becomes its
//   status in one function, server/http/error_response.hpp (storage.full with its hint for a
//   full map; errc -> status by server/http/error_status.cpp): an error page for the pages, a
//   JSON error for the API.
// - In the CLI one runner, server/cli/run_command.hpp, turns a command's exception into its
//   exit status: config_error and usage errors -> 2, any other failure -> 1, each with one
//   stderr line. `nidan serve` past its config: a failure to start -> 1 and a log line.
// - A coroutine spawned detached logs what escapes it (log_escaped, server/base/awaitables.hpp).
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <system_error>

namespace nidan {

// The outcome of a check of a value: nullopt when it is fine, else a short English reason safe to
// log and print. (Not an empty string for "fine": a caller cannot mistake one for the other.)
using problem = std::optional<std::string>;

enum class errc {
    ok = 0,
    not_found,            // the thing asked for does not exist
    already_exists,       // a key that must be new is taken
    invalid_input,        // the caller's data breaks a rule (validated before anything is stored)
    storage_full,         // LMDB map is full: raise storage.map_size_mib
    storage_unavailable,  // environment closed, readers exhausted, disk error
    storage_corrupt,      // a stored value failed to decode or the schema version is wrong
    overloaded,           // a queue (hash pool, writer) is past its limit: retry later
    shutting_down,        // the server is stopping and takes no new work
};

const std::error_category& nidan_category() noexcept;

// A bad configuration value, naming its key (e.g. "smtp.port: must be 1..65535"): stops startup.
class config_error : public std::runtime_error {
public:
    config_error(std::string key, const std::string& reason)
        : std::runtime_error(key.empty() ? reason : key + ": " + reason), key_(std::move(key)) {}
    const std::string& key() const noexcept { return key_; }

private:
    std::string key_;
};

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), nidan_category()};
}

}  // namespace nidan

template <>
struct std::is_error_code_enum<nidan::errc> : std::true_type {};
