#pragma once
// The attempt gate as the login steps use it (core/security/attempt_gate.hpp states its rules): this
// process's own, and, when the store is shared by several nodes (storage::backend::shared()),
// also the nodes' common one in the database, so that a burst spread over the nodes meets the
// same counts, pairs, slots and lines as a burst on one.
//
// Every track and admission goes to the process's gate first: a conflict there is a conflict
// for the nodes too and is refused without a round trip; /metrics reads it for this node. The
// order of a line, though, is the database's alone.
// Then, on a shared store, to the database in one write each; its counts are the answer.
// A check's entries are deleted in the write of its outcome (take_entries()); others, and
// those of checks that write nothing, are sent without waiting, gathered into one write while the previous one runs; an
// entry a node could not release (a full queue, the node killed) stops counting when its life
// runs out. A pass waiting its turn renews its entries each time it looks.
//
// Arguments by reference: the caller's named objects, never temporaries of its co_await
// expression (see server/base/storage_bridge.hpp on g++ 12). A database failure in track() or
// admit() is thrown as std::system_error (the dispatcher
// answers 503), as a failed read is.
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/security/attempt_gate.hpp"
#include "server/base/http_types.hpp"
#include "storage/backend.hpp"

namespace nidan::server {

class shared_attempt_gate {
public:
    // entry_life: how long a database entry counts without its node renewing or releasing it.
    shared_attempt_gate(login::attempt_gate& local, storage::backend& store, std::chrono::milliseconds entry_life);
    shared_attempt_gate(const shared_attempt_gate&) = delete;
    shared_attempt_gate& operator=(const shared_attempt_gate&) = delete;

    // A check registered in flight until destroyed.
    class hold {
    public:
        hold(hold&& other) noexcept
            : local_(std::move(other.local_)), entry_(std::exchange(other.entry_, 0)), gate_(other.gate_) {}
        hold& operator=(hold&& other) noexcept;
        hold(const hold&) = delete;
        hold& operator=(const hold&) = delete;
        ~hold() { let_go(); }

    private:
        friend class shared_attempt_gate;
        hold(login::attempt_gate::hold local, std::uint64_t entry, shared_attempt_gate& gate)
            : local_(std::move(local)), entry_(entry), gate_(&gate) {}
        void let_go() noexcept;
        login::attempt_gate::hold local_;
        std::uint64_t entry_;  // 0: none in the database
        shared_attempt_gate* gate_;
    };

    // An admitted delayed attempt until destroyed.
    class pass {
    public:
        pass(pass&& other) noexcept
            : local_(std::move(other.local_)), plan_(std::move(other.plan_)),
              shared_(std::exchange(other.shared_, {})), gate_(other.gate_) {}
        pass& operator=(pass&&) = delete;
        pass(const pass&) = delete;
        pass& operator=(const pass&) = delete;
        ~pass();

    private:
        friend class shared_attempt_gate;
        pass(login::attempt_gate::pass local, login::gate_plan plan, storage::gate_admission shared,
             shared_attempt_gate& gate)
            : local_(std::move(local)), plan_(std::move(plan)), shared_(std::move(shared)), gate_(&gate) {}
        login::attempt_gate::pass local_;
        login::gate_plan plan_;
        storage::gate_admission shared_;  // no entries: the process's gate only
        shared_attempt_gate* gate_;
    };

    struct admission {
        std::optional<pass> admitted;
        throttle_refusal refused = throttle_refusal::busy_same_account;  // when not admitted
    };

    // What a check reads once it is registered: the records, and per subject the checks of it
    // that were already running.
    using tracked_read = std::function<void(const login::record_reader&, const std::vector<std::uint32_t>& others)>;
    // Each subject registered in flight ("" registers nothing and counts 0), in the order
    // given (taken from `subjects`), then `then` run: on a shared store in the same transaction (one round of the
    // database for both), otherwise as a read right after. A failed read is thrown as
    // std::system_error too.
    awaitable<std::vector<hold>> track(std::vector<std::string>& subjects, const tracked_read& then);
    awaitable<admission> admit(const login::gate_plan& plan);
    // First in its line, on this node and across the nodes.
    awaitable<bool> served(pass& p);

    // The database entries of these holds and this pass (null: none), for the caller to delete
    // in the transaction that writes the check's outcome (storage::record_store::gate_release),
    // so that the next check of a subject sees either the check in flight or its stored
    // failure, never neither. The holds and the pass go on counting in this process. Empty
    // when the store is not shared.
    std::vector<std::uint64_t> take_entries(std::initializer_list<hold*> holds, pass* p);
    // Deletes entries soon, without waiting: what take_entries() gave when that transaction
    // failed.
    void release(std::vector<std::uint64_t> entries) noexcept;

    const login::attempt_gate& local() const { return local_; }

private:
    std::int64_t expires_from(std::int64_t now_ms) const { return now_ms + entry_life_.count(); }
    void flush(std::vector<std::uint64_t> batch) noexcept;

    login::attempt_gate& local_;
    storage::backend& store_;
    const bool shared_;
    const std::chrono::milliseconds entry_life_;
    std::mutex release_mutex_;
    std::vector<std::uint64_t> unreleased_;  // waiting for the write in flight
    bool releasing_ = false;
};

}  // namespace nidan::server
