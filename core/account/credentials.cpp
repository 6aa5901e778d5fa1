#include "core/account/credentials.hpp"

#include "core/base/tokens.hpp"

namespace nidan {

std::uint64_t fresh_credential_epoch() {
    std::uint64_t epoch = 0;
    while (epoch == 0) epoch = random_u64();
    return epoch;
}

std::string device_token_payload(std::string_view account_subject, std::uint64_t epoch) {
    std::string payload(account_subject);
    payload.push_back('\0');
    payload.append(std::to_string(epoch));
    return payload;
}

}  // namespace nidan
