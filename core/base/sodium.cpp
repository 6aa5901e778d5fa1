#include "core/base/sodium.hpp"

#include <sodium.h>

#include <stdexcept>

namespace nidan {

void ensure_sodium() {
    // sodium_init() is idempotent and thread-safe; the function-local static skips its cost on
    // later calls and gives every caller a happens-before edge with the one initialisation.
    static const bool ready = sodium_init() >= 0;
    if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace nidan
