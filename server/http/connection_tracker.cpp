#include "server/http/connection_tracker.hpp"

#include <boost/asio/post.hpp>

namespace nidan::server {

admission connection_tracker::try_admit(const std::string& client, bool per_client_cap) {
    auto current = open_.load(std::memory_order_relaxed);
    do {
        if (current >= max_) {
            refused_server_.fetch_add(1, std::memory_order_relaxed);
            return admission::server_full;
        }
    } while (!open_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
    std::lock_guard lock(mutex_);
    auto& count = per_client_[client];
    if (per_client_cap && count >= max_per_client_) {
        open_.fetch_sub(1, std::memory_order_relaxed);
        refused_client_.fetch_add(1, std::memory_order_relaxed);
        return admission::client_full;
    }
    ++count;
    return admission::admitted;
}

void connection_tracker::add(std::uint64_t id, std::shared_ptr<connection_handle> handle) {
    std::lock_guard lock(mutex_);
    handles_.emplace(id, std::move(handle));
}

void connection_tracker::remove(std::uint64_t id) {
    {
        std::lock_guard lock(mutex_);
        const auto it = handles_.find(id);
        if (it != handles_.end()) {
            const auto client = per_client_.find(it->second->client);
            if (client != per_client_.end() && --client->second == 0) per_client_.erase(client);
            handles_.erase(it);
        }
    }
    open_.fetch_sub(1, std::memory_order_relaxed);
}

void connection_tracker::close_idle() { for_each(true); }
void connection_tracker::close_all() { for_each(false); }

void connection_tracker::for_each(bool only_idle) {
    std::lock_guard lock(mutex_);
    for (auto& [id, handle] : handles_) {
        boost::asio::post(handle->executor, [handle = handle, only_idle] {
            if (handle->cancel && (handle->idle || !only_idle)) handle->cancel();
        });
    }
}

connection_slot::connection_slot(connection_tracker& tracker, boost::asio::any_io_executor executor,
                                 std::string client)
    : tracker_(tracker), id_(tracker.next_id()), handle_(std::make_shared<connection_handle>()) {
    handle_->executor = std::move(executor);
    handle_->client = std::move(client);
    tracker_.add(id_, handle_);
}

connection_slot::~connection_slot() {
    handle_->cancel = nullptr;
    tracker_.remove(id_);
}

}  // namespace nidan::server
