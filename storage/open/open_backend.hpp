#pragma once
// The backend storage.backend names, opened: the one place that knows every implementation.
#include <memory>
#include <string>

#include "core/config/config.hpp"
#include "storage/backend.hpp"

namespace nidan::storage {

// Throws storage::error (or config_error naming the key) when it cannot be opened.
std::unique_ptr<backend> open_backend(const storage_config& cfg);

// Empty when the configured storage holds nidan data; otherwise what is missing, for commands
// that must not create an empty store when a setting has a typo.
std::string missing_data(const storage_config& cfg);

}  // namespace nidan::storage
