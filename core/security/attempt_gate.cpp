#include "core/security/attempt_gate.hpp"

#include <algorithm>

namespace nidan::login {

attempt_gate::hold& attempt_gate::hold::operator=(hold&& other) noexcept {
    if (this != &other) {
        if (gate_) gate_->untrack(subject_);
        gate_ = std::exchange(other.gate_, nullptr);
        subject_ = std::move(other.subject_);
    }
    return *this;
}

attempt_gate::hold::~hold() {
    if (gate_) gate_->untrack(subject_);
}

attempt_gate::pass& attempt_gate::pass::operator=(pass&& other) noexcept {
    if (this != &other) {
        if (gate_) gate_->release(plan_, ticket_);
        gate_ = std::exchange(other.gate_, nullptr);
        plan_ = std::move(other.plan_);
        ticket_ = other.ticket_;
    }
    return *this;
}

attempt_gate::pass::~pass() {
    if (gate_) gate_->release(plan_, ticket_);
}

bool attempt_gate::pass::served() const {
    if (!gate_ || plan_.line.empty()) return true;
    std::lock_guard lock(gate_->mutex_);
    return gate_->first_in_line(plan_.line, ticket_);
}

std::pair<attempt_gate::hold, std::uint32_t> attempt_gate::track(std::string subject) {
    if (subject.empty()) {
        hold nothing(*this, {});
        nothing.gate_ = nullptr;
        return {std::move(nothing), 0};
    }
    std::lock_guard lock(mutex_);
    const auto before = running_[subject]++;
    return {hold(*this, std::move(subject)), before};
}

attempt_gate::admission attempt_gate::admit(gate_plan plan) {
    std::lock_guard lock(mutex_);
    if (!plan.pair.empty() && pairs_.contains(plan.pair)) return {std::nullopt, throttle_refusal::busy_same_account};
    if (!plan.account.empty()) {
        const auto it = slots_.find(plan.account);
        if (it != slots_.end() && it->second >= plan.account_limit)
            return {std::nullopt, throttle_refusal::account_concurrency};
        if (plan.account_limit == 0) return {std::nullopt, throttle_refusal::account_concurrency};
    }
    if (!plan.line.empty()) {
        const auto it = lines_.find(plan.line);
        // The one served plus line_max waiting behind it.
        if (it != lines_.end() && it->second.size() > plan.line_max)
            return {std::nullopt, throttle_refusal::busy_queue_full};
    }
    const auto ticket = next_ticket_++;
    if (!plan.pair.empty()) pairs_.insert(plan.pair);
    if (!plan.account.empty()) ++slots_[plan.account];
    if (!plan.line.empty()) lines_[plan.line].push_back(ticket);
    ++passes_;
    return {pass(*this, std::move(plan), ticket), throttle_refusal::busy_same_account};
}

std::size_t attempt_gate::in_flight(std::string_view kind) const {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [subject, count] : running_)
        if (kind.empty() || (subject.size() > kind.size() && subject.starts_with(kind) && subject[kind.size()] == '\0'))
            total += count;
    return total;
}

std::size_t attempt_gate::queued() const {
    std::lock_guard lock(mutex_);
    return waiting();
}

std::size_t attempt_gate::served() const {
    std::lock_guard lock(mutex_);
    return passes_ - waiting();
}

std::size_t attempt_gate::waiting() const {
    std::size_t behind = 0;
    for (const auto& [line, tickets] : lines_) behind += tickets.size() - 1;  // no line is left empty
    return behind;
}

bool attempt_gate::first_in_line(const std::string& line, std::uint64_t ticket) const {
    const auto it = lines_.find(line);
    return it == lines_.end() || it->second.empty() || it->second.front() == ticket;
}

void attempt_gate::untrack(const std::string& subject) noexcept {
    std::lock_guard lock(mutex_);
    if (const auto it = running_.find(subject); it != running_.end() && --it->second == 0) running_.erase(it);
}

void attempt_gate::release(const gate_plan& plan, std::uint64_t ticket) noexcept {
    std::lock_guard lock(mutex_);
    if (!plan.pair.empty()) pairs_.erase(plan.pair);
    if (!plan.account.empty())
        if (const auto it = slots_.find(plan.account); it != slots_.end() && --it->second == 0) slots_.erase(it);
    if (!plan.line.empty()) {
        if (const auto it = lines_.find(plan.line); it != lines_.end()) {
            auto& tickets = it->second;
            tickets.erase(std::remove(tickets.begin(), tickets.end(), ticket), tickets.end());
            if (tickets.empty()) lines_.erase(it);
        }
    }
    --passes_;
}

}  // namespace nidan::login
