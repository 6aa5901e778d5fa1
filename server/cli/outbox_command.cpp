// `nidan outbox list|retry|purge`: what waits for the relay, what it refused, and putting a
// refused mail back in the queue. Works beside a running server (it picks retried mails up
// within a second).
#include <chrono>
#include <ctime>
#include <iostream>

#include "core/base/clock.hpp"
#include "core/base/log.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"
#include "storage/open/open_backend.hpp"

namespace nidan::cli {
namespace {

constexpr const char* outbox_usage = R"(usage:
  nidan outbox list  [--failed]     queued mails (or the failed ones) with their state
  nidan outbox retry ID             a failed mail back to the queue, or a waiting one due now
  nidan outbox purge (ID | --all)   delete failed mails
every form also takes --config FILE and --set section.key=value
)";

std::string when(std::int64_t unix_seconds) {
    if (unix_seconds == 0) return "-";
    char buffer[32];
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string recipients(const outbox_mail& mail) {
    std::string out;
    for (const auto& r : mail.rcpt_to) out += (out.empty() ? "" : ",") + r;
    return out;
}

void print(const outbox_mail& mail, bool failed) {
    std::cout << mail.id << "\t" << mail.kind << "\t" << recipients(mail) << "\tcreated=" << when(mail.created_at)
              << "\tattempts=" << mail.attempts;
    if (failed) std::cout << "\tfailed=" << when(mail.failed_at);
    else std::cout << "\tdue=" << when(mail.due_at / 1000);
    if (mail.expires_at) std::cout << "\texpires=" << when(mail.expires_at);
    if (!mail.last_error.empty()) std::cout << "\tlast_error=" << mail.last_error;
    std::cout << "\n";
}

std::uint64_t parse_id(const std::string& text) {
    std::size_t used = 0;
    unsigned long long id = 0;
    try {
        id = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty()) throw std::invalid_argument("not a mail id: " + text);
    return id;
}

}  // namespace

int outbox_command(std::vector<std::string> args) {
    return run_command("outbox", outbox_usage, [&]() -> int {
        auto options = take_common_options(args);
        if (args.empty()) throw std::invalid_argument("missing outbox command");
        const std::string sub = args.front();
        args.erase(args.begin());
        const auto cfg = load(options);
        log::init(cfg.log);
        if (const auto missing = storage::missing_data(cfg.storage); !missing.empty()) {
            std::cerr << "nidan outbox: " << missing << "\n";
            return 1;
        }
        const auto store = storage::open_backend(cfg.storage);
        if (sub == "list") {
            const bool failed = take_flag(args, "--failed");
            if (!args.empty()) throw std::invalid_argument("unexpected argument: " + args.front());
            storage::read_now(*store, [failed](const storage::record_view& v) {
                const auto stats = v.outbox_statistics();
                std::cout << "queued: " << stats.queued << ", failed: " << stats.failed << "\n";
                auto visit = [failed](const outbox_mail& m) {
                    print(m, failed);
                    return true;
                };
                if (failed) v.for_each_failed(visit);
                else v.for_each_queued(visit);
            });
            return 0;
        }
        if (sub == "retry") {
            if (args.size() != 1) throw std::invalid_argument("retry takes one mail id");
            const auto id = parse_id(args.front());
            bool found = false;
            storage::write_now(*store, [&](storage::record_store& s) { found = s.retry_mail(id, unix_now_ms()); });
            if (!found) {
                std::cerr << "nidan outbox: no mail " << id << "\n";
                return 1;
            }
            log::audit("outbox.retry").add("actor", "cli").add("mail_id", id);
            std::cout << "mail " << id << " queued for delivery\n";
            return 0;
        }
        if (sub == "purge") {
            const bool all = take_flag(args, "--all");
            if (all == (args.size() == 1) || args.size() > 1)
                throw std::invalid_argument("purge takes one mail id or --all");
            std::optional<std::uint64_t> id;
            if (!all) id = parse_id(args.front());
            std::size_t removed = 0;
            storage::write_now(*store, [&](storage::record_store& s) { removed = s.purge_failed(id); });
            if (id && removed == 0) {
                std::cerr << "nidan outbox: no failed mail " << *id << "\n";
                return 1;
            }
            log::audit("outbox.purge").add("actor", "cli").add("removed", static_cast<std::uint64_t>(removed));
            std::cout << "purged " << removed << " failed mails\n";
            return 0;
        }
        throw std::invalid_argument("unknown outbox command '" + sub + "'");
    });
}

}  // namespace nidan::cli
