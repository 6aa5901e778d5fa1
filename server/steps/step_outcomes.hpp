#pragma once
// How each result of a login step is answered, in one row: the HTTP status (pages and API
// alike), the API's error code and message, the page's message (a catalog key) and the label
// it is counted under in /metrics. The address-change notice's cancel link has rows too (its
// page only; no API). The pages (server/web), the API (server/api) and /metrics
// (server/ops) all read these rows, so a result cannot be answered one way on a page and
// another in the API, or counted under a name nothing else uses.
#include <string_view>

#include "core/login/address_change.hpp"
#include "core/login/address_step.hpp"
#include "core/login/code_step.hpp"
#include "core/login/password_step.hpp"
#include "server/base/http_types.hpp"

namespace nidan::server {

struct outcome_row {
    http::status status;
    std::string_view api_error;    // the API's "error"; "" for a success
    std::string_view api_message;  // the API's "message" (English, for scripts)
    std::string_view message_key;  // the page's message (templates/lang/*.toml); "" when the page shows none
    std::string_view metric;       // the result label of nidan_login_<step>_total (nidan_address_cancel_total)
    // The section of the cancel link's page (templates/address_cancel.html) the result shows,
    // whose text is message_key; "" for the steps, and for a result that shows an error page.
    std::string_view page_state;
};

const outcome_row& outcome_of(login::password_result r) noexcept;
const outcome_row& outcome_of(login::code_result r) noexcept;
const outcome_row& outcome_of(login::address_result r) noexcept;
const outcome_row& outcome_of(login::address_cancel_result r) noexcept;

}  // namespace nidan::server
