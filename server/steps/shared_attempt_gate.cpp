#include "server/steps/shared_attempt_gate.hpp"

#include <system_error>

#include "core/base/clock.hpp"
#include "core/base/log.hpp"
#include "server/base/storage_bridge.hpp"

namespace nidan::server {

shared_attempt_gate::shared_attempt_gate(login::attempt_gate& local, storage::backend& store,
                                         std::chrono::milliseconds entry_life)
    : local_(local), store_(store), shared_(store.shared()), entry_life_(entry_life) {}

shared_attempt_gate::hold& shared_attempt_gate::hold::operator=(hold&& other) noexcept {
    if (this != &other) {
        let_go();
        local_ = std::move(other.local_);
        entry_ = std::exchange(other.entry_, 0);
        gate_ = other.gate_;
    }
    return *this;
}

void shared_attempt_gate::hold::let_go() noexcept {
    if (entry_ != 0) gate_->release({std::exchange(entry_, 0)});
}

shared_attempt_gate::pass::~pass() {
    if (!shared_.entries.empty()) gate_->release(std::move(shared_.entries));
}

awaitable<std::vector<shared_attempt_gate::hold>> shared_attempt_gate::track(std::vector<std::string>& subjects,
                                                                              const tracked_read& then) {
    std::vector<hold> holds;
    std::vector<std::uint32_t> others;
    std::vector<std::string> named;
    std::vector<std::size_t> named_at;  // which holds they are
    for (auto& subject : subjects) {
        if (!subject.empty()) {
            named.push_back(subject);
            named_at.push_back(holds.size());
        }
        auto [local, count] = local_.track(std::move(subject));
        holds.push_back(hold(std::move(local), 0, *this));
        others.push_back(count);
    }
    if (!shared_) {
        const auto ec = co_await read(store_, [&](const storage::record_view& v) { then(v, others); });
        if (ec) throw std::system_error(ec, "storage read");
        co_return holds;
    }

    const auto now = unix_now_ms();
    const auto until = expires_from(now);
    std::vector<storage::gate_entry> entries;
    const auto ec = co_await write(store_, [&](storage::record_store& s) {
        if (!named.empty()) entries = s.gate_track(named, now, until);
        // The database's counts include this node's other checks: they replace the local ones.
        for (std::size_t i = 0; i < named_at.size() && i < entries.size(); ++i) others[named_at[i]] = entries[i].others;
        then(s, others);
    });
    if (ec) throw std::system_error(ec, "attempt gate");
    for (std::size_t i = 0; i < named_at.size() && i < entries.size(); ++i) holds[named_at[i]].entry_ = entries[i].id;
    co_return holds;
}

awaitable<shared_attempt_gate::admission> shared_attempt_gate::admit(const login::gate_plan& plan) {
    auto local = local_.admit(plan);
    if (!local.admitted) co_return admission{std::nullopt, local.refused};
    if (!shared_) co_return admission{pass(std::move(*local.admitted), plan, {}, *this), local.refused};

    const auto now = unix_now_ms();
    const auto until = expires_from(now);
    storage::gate_admission shared;
    const auto ec = co_await write(store_, [&](storage::record_store& s) { shared = s.gate_admit(plan, now, until); });
    if (ec) throw std::system_error(ec, "attempt gate");
    if (shared.refused) co_return admission{std::nullopt, *shared.refused};
    co_return admission{pass(std::move(*local.admitted), plan, std::move(shared), *this), local.refused};
}

awaitable<bool> shared_attempt_gate::served(pass& p) {
    // On a shared store the database's line alone decides: this node's admissions may reach
    // it in another order than they reached the process's gate, and two orders could each
    // hold the other's first attempt back.
    if (p.shared_.entries.empty()) co_return p.local_.served();
    const auto now = unix_now_ms();
    const auto until = expires_from(now);
    bool first = false;
    const auto ec = co_await write(store_, [&](storage::record_store& s) {
        first = s.gate_served(p.plan_, p.shared_, now, until);
    });
    // Not served while the database cannot say: the caller looks again, and gives up when the
    // server stops.
    if (ec) log::warn("gate.look_failed").add("error", ec.message());
    co_return !ec && first;
}

std::vector<std::uint64_t> shared_attempt_gate::take_entries(std::initializer_list<hold*> holds, pass* p) {
    std::vector<std::uint64_t> out;
    for (auto* h : holds)
        if (h && h->entry_ != 0) out.push_back(std::exchange(h->entry_, 0));
    if (p) {
        out.insert(out.end(), p->shared_.entries.begin(), p->shared_.entries.end());
        p->shared_.entries.clear();
    }
    return out;
}

void shared_attempt_gate::release(std::vector<std::uint64_t> entries) noexcept {
    if (entries.empty()) return;
    try {
        std::unique_lock lock(release_mutex_);
        unreleased_.insert(unreleased_.end(), entries.begin(), entries.end());
        if (releasing_) return;
        releasing_ = true;
        auto batch = std::exchange(unreleased_, {});
        lock.unlock();
        flush(std::move(batch));
    } catch (...) {
        // Out of memory: the entries run out by themselves.
    }
}

void shared_attempt_gate::flush(std::vector<std::uint64_t> batch) noexcept {
    try {
        auto work = [batch](storage::record_store& s) { s.gate_release(batch); };
        const auto queued = store_.write(work, [this](std::error_code ec) {
            if (ec) log::warn("gate.release_failed").add("error", ec.message());
            std::unique_lock lock(release_mutex_);
            if (unreleased_.empty()) {
                releasing_ = false;
                return;
            }
            auto next = std::exchange(unreleased_, {});
            lock.unlock();
            flush(std::move(next));
        });
        if (queued) return;
    } catch (...) {
    }
    // Not queued (the queue full, the backend stopping): those entries run out by themselves.
    std::lock_guard lock(release_mutex_);
    releasing_ = false;
}

}  // namespace nidan::server
