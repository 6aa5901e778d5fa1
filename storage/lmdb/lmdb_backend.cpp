#include "storage/lmdb/lmdb_backend.hpp"

#include "storage/duration_histogram.hpp"
#include "storage/error.hpp"
#include "storage/lmdb/login_store.hpp"

namespace nidan::storage {
namespace {

// Above this share of storage.map_size_mib the node says it is not ready: writes would soon
// fail with "storage full".
constexpr double readiness_map_limit = 0.95;

}  // namespace

lmdb_backend::lmdb_backend(const storage_config& cfg)
    : env_(std::make_unique<environment>(make_options(cfg))),
      writer_(std::make_unique<writer>(*env_, cfg.writer_max_batch, cfg.writer_max_queue)) {}

lmdb_backend::~lmdb_backend() { stop(); }

void lmdb_backend::read(read_work work, completion done) {
    std::error_code ec;
    try {
        auto txn = env_->begin_read();
        work(login_reader(txn));
    } catch (...) {
        ec = error_code_of(std::current_exception());
    }
    done(ec);
}

bool lmdb_backend::write(write_work work, completion done) {
    return writer_->submit(
        [work = std::move(work)](write_txn& txn) {
            login_writer records(txn);
            work(records);
        },
        std::move(done));
}

std::string lmdb_backend::not_ready_reason() const {
    const auto usage = env_->stats();
    const double used = usage.map_bytes ? static_cast<double>(usage.used_bytes) / static_cast<double>(usage.map_bytes) : 1.0;
    if (used > readiness_map_limit) return "storage map nearly full (raise storage.map_size_mib)";
    return {};
}

std::vector<metric_sample> lmdb_backend::metrics() const {
    const auto usage = env_->stats();
    return {
        {"nidan_storage_used_bytes", "gauge", "LMDB data file high-water mark.", static_cast<double>(usage.used_bytes)},
        {"nidan_storage_map_bytes", "gauge", "LMDB map size (storage.map_size_mib).", static_cast<double>(usage.map_bytes)},
        {"nidan_storage_writer_queue", "gauge", "Writes waiting for the storage writer.",
         static_cast<double>(writer_->queue_depth())},
        {"nidan_storage_commits_total", "counter", "Write transactions committed by the writer.",
         static_cast<double>(writer_->commits())},
        sample_of(writer_->batch_sizes(), "nidan_storage_write_batch_size",
                  "Writes committed together by the writer's group commits (storage.writer_max_batch at most)."),
    };
}

void lmdb_backend::stop() {
    std::call_once(stopped_, [this] {
        writer_->stop();
        env_->sync();
    });
}

}  // namespace nidan::storage
