#pragma once
// Puts mails into a data folder's outbox from the test process, built the way the server builds
// them: nidan::code_mailer with the shipped conf/nidan.toml and the real templates/. Header-only
// because it needs the project's headers, which only test executables linked with nidan_server
// see (not the support library).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/base/clock.hpp"
#include "core/mail/code_mail.hpp"
#include "core/config/config.hpp"
#include "core/mail/mail_message.hpp"
#include "core/render/template_store.hpp"
#include "nidan_test/process.hpp"
#include "core/mail/code_mailer.hpp"
#include "storage/lmdb/environment.hpp"
#include "storage/lmdb/outbox.hpp"
#include "storage/open/open_backend.hpp"
#include "nidan_test/postgres_registry.hpp"

namespace nidan_test {

// The server's clock (core/base/clock.hpp), so due times compare as the server compares them.
using nidan::unix_now;
using nidan::unix_now_ms;

// conf/nidan.toml as shipped, pointed at data_dir.
inline nidan::config shipped_config(const std::filesystem::path& data_dir) {
    return nidan::load_config(source_dir() + "/conf/nidan.toml", {{"storage.data_dir", data_dir.string()}});
}

inline const nidan::template_store& real_templates() {
    static const nidan::template_store templates(source_dir() + "/templates", "ja");
    return templates;
}

struct code_mail_input {
    std::string to = "taro@example.jp";
    std::string code = "123456";
    std::string portal = "ip-phone";
    std::string language = "ja";
    std::int64_t expires_in_s = 1200;  // negative: the code expired already
};

inline nidan::storage::outbox_mail code_mail(const nidan::config& cfg, const code_mail_input& in) {
    const auto now = unix_now();
    nidan::code_mailer mailer(cfg, real_templates());
    return mailer.login_code({in.portal, in.language, in.to, in.code, now, now + in.expires_in_s});
}

// The text render_code_mail gives for the same inputs, as the relay must receive it after
// decoding: with CRLF line ends (the MIME canonical form the body is encoded in).
inline nidan::mail::rendered_mail expected_code_mail(const nidan::config& cfg, const code_mail_input& in) {
    const auto minutes = static_cast<int>((cfg.code.lifetime.count() + 59) / 60);
    const auto& t = real_templates();
    auto text = nidan::mail::render_code_mail(t,
                                              {in.portal, in.language, t.text(in.language, "portal." + in.portal + ".name"),
                                               t.text(in.language, "operator.name"),
                                               cfg.operator_info.mail_domain, cfg.operator_info.enquiry_url, in.code,
                                               minutes});
    std::string crlf;
    for (std::size_t i = 0; i < text.body.size(); ++i) {
        if (text.body[i] == '\n' && (i == 0 || text.body[i - 1] != '\r')) crlf += '\r';
        crlf += text.body[i];
    }
    text.body = std::move(crlf);
    return text;
}

// A notice (lower priority than codes), such as an address-change notice.
inline nidan::storage::outbox_mail notice_mail(const nidan::config& cfg, const std::string& to) {
    nidan::mail::message_fields fields;
    fields.from_address = cfg.mail.from_address;
    fields.from_name = real_templates().text("ja", "mail.from_name");
    fields.to_address = to;
    fields.subject = "【" + real_templates().text("ja", "operator.name") + "】メールアドレス変更のお知らせ";
    fields.body = "メールアドレスが変更されました。\n";
    fields.date_unix = unix_now();
    fields.message_id = nidan::mail::make_message_id(cfg.operator_info.mail_domain, fields.date_unix);
    nidan::storage::outbox_mail mail;
    mail.priority = nidan::storage::mail_priority::notice;
    mail.kind = "address_notice";
    mail.mail_from = cfg.mail.from_address;
    mail.rcpt_to = {to};
    mail.message = nidan::mail::build_message(fields);
    return mail;
}

// Enqueues the mails in one write transaction and returns their ids. The environment is open
// only for that transaction: LMDB lets this process write while a server in another process
// has the folder open, but one process must not hold the same folder open twice.
inline std::vector<std::uint64_t> enqueue(const std::filesystem::path& data_dir,
                                          std::vector<nidan::storage::outbox_mail> mails) {
    auto cfg = shipped_config(data_dir);
    if (const auto url = postgres_url_of(data_dir.string()); !url.empty()) {
        // The folder's PostgreSQL database (postgres_server.hpp): the ids are those the
        // transaction added, in the order queued (ids increase).
        cfg.storage.backend = nidan::storage_backend::postgres;
        cfg.storage.postgres_url = url;
        cfg.storage.postgres_pool_size = 1;
        auto b = nidan::storage::open_backend(cfg.storage);
        std::vector<std::uint64_t> ids;
        nidan::storage::write_now(*b, [&](nidan::storage::record_store& s) {
            std::vector<std::uint64_t> before;
            const auto note = [](std::vector<std::uint64_t>& into) {
                return [&into](const nidan::storage::outbox_mail& m) { return into.push_back(m.id), true; };
            };
            s.for_each_queued(note(before));
            s.for_each_failed(note(before));
            for (auto& mail : mails) s.queue_mail(mail, unix_now_ms());
            std::vector<std::uint64_t> after;
            s.for_each_queued(note(after));
            for (const auto id : after)
                if (std::find(before.begin(), before.end(), id) == before.end()) ids.push_back(id);
            std::sort(ids.begin(), ids.end());
        });
        b->stop();
        return ids;
    }
    nidan::storage::environment env(nidan::storage::make_options(cfg.storage));
    auto txn = env.begin_write();
    std::vector<std::uint64_t> ids;
    const auto now_ms = unix_now_ms();
    for (auto& mail : mails) ids.push_back(nidan::storage::enqueue_mail(txn, std::move(mail), now_ms));
    txn.commit();
    return ids;
}

inline std::uint64_t enqueue_code_mail(const std::filesystem::path& data_dir, const code_mail_input& in = {}) {
    return enqueue(data_dir, {code_mail(shipped_config(data_dir), in)}).front();
}

}  // namespace nidan_test
