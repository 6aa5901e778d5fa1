// `nidan mail test --to ADDRESS`: sends one mail through the configured relay with the server's
// own SMTP client and prints the dialogue, the TLS version and the certificate check. Exit
// status 0 only when the relay accepted the mail: operators use it to check smtp.* settings.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>

#include "core/account/account_rules.hpp"
#include "core/base/clock.hpp"
#include "core/base/log.hpp"
#include "core/mail/mail_message.hpp"
#include "core/render/message_catalog.hpp"
#include "server/cli/cli_options.hpp"
#include "server/cli/commands.hpp"
#include "server/cli/run_command.hpp"
#include "server/smtp/smtp_connection.hpp"

namespace nidan::cli {
namespace {

namespace net = boost::asio;

constexpr const char* mail_usage = R"(usage:
  nidan mail test --to ADDRESS      send a test mail through smtp.relay and show the dialogue
every form also takes --config FILE and --set section.key=value
)";

struct test_result {
    problem connect_error;  // nullopt: connected
    smtp::message_outcome outcome;
    std::string tls_version;
    std::string certificate;
};

server::awaitable<test_result> send_test(const config& cfg, net::ssl::context& tls, smtp::envelope mail) {
    auto executor = co_await net::this_coro::executor;
    server::smtp_connection connection(executor, cfg.smtp, tls, server::load_smtp_credentials(cfg.smtp),
                                       [](const std::string& line) { std::cout << line << "\n"; });
    test_result result;
    result.connect_error = co_await connection.open();
    if (!result.connect_error) result.outcome = co_await connection.send(std::move(mail));
    result.tls_version = connection.tls_version();
    result.certificate = connection.certificate_check();
    co_await connection.close();
    co_return result;
}

smtp::envelope test_mail(const config& cfg, const std::string& to) {
    const auto now = unix_now();
    // The sender as the customers' mails name it: the default language's catalog.
    const auto catalogs = render::message_catalogs::load(cfg.server.templates_dir / "lang", cfg.operator_info.language);
    const auto& language = catalogs.default_tag();
    mail::message_fields fields;
    fields.from_address = cfg.mail.from_address;
    fields.from_name = catalogs.text(language, "mail.from_name");
    fields.to_address = to;
    fields.subject = "【" + catalogs.text(language, "operator.name") + "】テストメール (nidan mail test)";
    fields.body = "nidan からのテストメールです。このメールが届いていれば、送信設定は正しく動作しています。\n"
                  "This is a test mail from nidan: the relay settings work.\n";
    fields.date_unix = now;
    fields.message_id = mail::make_message_id(cfg.operator_info.mail_domain, now);
    return {cfg.mail.from_address, {to}, mail::build_message(fields)};
}

}  // namespace

int mail_command(std::vector<std::string> args) {
    return run_command("mail", mail_usage, [&]() -> int {
        auto options = take_common_options(args);
        if (args.empty() || args.front() != "test") throw std::invalid_argument("unknown or missing mail command");
        args.erase(args.begin());
        std::string to;
        if (!take_option(args, "--to", to)) throw std::invalid_argument("--to is required");
        if (!args.empty()) throw std::invalid_argument("unexpected argument: " + args.front());
        if (const auto why = email_problem(to); why || to.empty())
            throw std::invalid_argument(why ? "--to: " + *why : "--to: an address is required");
        const auto cfg = load(options);
        log::init(cfg.log);

        auto tls = server::make_smtp_tls_context(cfg.smtp);
        net::io_context ioc;
        auto future = net::co_spawn(ioc, send_test(cfg, *tls, test_mail(cfg, to)), net::use_future);
        ioc.run();
        const auto result = future.get();

        std::cout << "relay: " << cfg.smtp.relay.to_string() << "\n"
                  << "tls: " << (result.tls_version.empty() ? "none" : result.tls_version) << "\n"
                  << "certificate: " << (result.certificate.empty() ? "-" : result.certificate) << "\n";
        if (result.connect_error) {
            std::cout << "result: not sent: " << *result.connect_error << "\n";
            std::cerr << "nidan mail: " << *result.connect_error << "\n";
            return 1;
        }
        const auto& o = result.outcome;
        const bool accepted = o.result == smtp::message_outcome::kind::accepted;
        std::cout << "result: " << (accepted ? "accepted" : o.result == smtp::message_outcome::kind::permanent ? "refused" : "failed, try again")
                  << " (" << o.stage << ": " << o.reply << ")\n";
        if (!accepted) std::cerr << "nidan mail: the relay did not accept the mail: " << o.stage << ": " << o.reply << "\n";
        return accepted ? 0 : 1;
    });
}

}  // namespace nidan::cli
