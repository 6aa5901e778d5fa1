#pragma once
// The names of nidan's cookies, spelled once for the pages and the tests. Served over TLS each
// gets the __Host- prefix (cookie_name in cookies.hpp). Char arrays, so they convert to both
// std::string and std::string_view.
namespace nidan::cookie_names {

// The login in progress and, after the code step, the signed-in session (id of a stored session).
inline constexpr char session[] = "nidan_session";
// The "remember this device" token that lets a known device skip the code step.
inline constexpr char device[] = "nidan_device";
// The login form's CSRF token, double-submitted: the cookie and the form's csrf field must match.
inline constexpr char login_form[] = "nidan_login";

}  // namespace nidan::cookie_names
