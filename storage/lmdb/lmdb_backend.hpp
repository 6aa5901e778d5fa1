#pragma once
// The embedded backend: one LMDB environment in storage.data_dir, reads on the caller's thread
// in short read-only transactions (a read is a memory lookup), writes through the single writer
// thread with group commit (storage/lmdb/writer.hpp).
#include <functional>
#include <memory>
#include <mutex>

#include "core/config/config.hpp"
#include "storage/backend.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/lmdb/writer.hpp"

namespace nidan::storage {

class lmdb_backend final : public backend {
public:
    // Opens (creating when missing) the environment: throws storage::error.
    explicit lmdb_backend(const storage_config& cfg);
    ~lmdb_backend() override;

    std::string_view name() const override { return "lmdb"; }
    bool reads_inline() const override { return true; }
    bool shared() const override { return false; }
    void read(read_work work, completion done) override;
    bool write(write_work work, completion done) override;
    std::string not_ready_reason() const override;
    std::vector<metric_sample> metrics() const override;
    // One process per data folder serves requests, so the login path's own wake is enough.
    void on_mail_queued(std::function<void()>) override {}
    void stop() override;

    // For tools and tests that look at the tables themselves.
    environment& env() { return *env_; }

private:
    std::unique_ptr<environment> env_;
    std::unique_ptr<writer> writer_;
    std::once_flag stopped_;
};

}  // namespace nidan::storage
