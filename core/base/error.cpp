#include "core/base/error.hpp"

namespace nidan {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "nidan"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::ok: return "ok";
        case errc::not_found: return "not found";
        case errc::already_exists: return "already exists";
        case errc::invalid_input: return "invalid input";
        case errc::storage_full: return "storage full (raise storage.map_size_mib)";
        case errc::storage_unavailable: return "storage unavailable";
        case errc::storage_corrupt: return "stored data is corrupt or of another schema version";
        case errc::overloaded: return "overloaded, retry later";
        case errc::shutting_down: return "shutting down";
        }
        return "unknown nidan error";
    }
};

}  // namespace

const std::error_category& nidan_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace nidan
