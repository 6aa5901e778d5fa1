#include "core/login/login_metrics.hpp"

namespace nidan::login {
namespace {

// The counters are indexed by the enum's value: the lists must hold every value, in order.
template <class Result, std::size_t N>
constexpr bool lists_every_value_in_order(const std::array<Result, N>& all) {
    for (std::size_t i = 0; i < N; ++i)
        if (static_cast<std::size_t>(all[i]) != i) return false;
    return true;
}
static_assert(lists_every_value_in_order(all_password_results));
static_assert(lists_every_value_in_order(all_code_results));
static_assert(lists_every_value_in_order(all_address_results));
static_assert(lists_every_value_in_order(all_address_cancel_results));
static_assert(lists_every_value_in_order(all_throttle_refusals));

}  // namespace

}  // namespace nidan::login
