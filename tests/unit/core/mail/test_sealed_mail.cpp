// Sealing the mails that carry a secret before they go into the outbox (core/mail/sealed_mail.hpp).
#define BOOST_TEST_MODULE sealed_mail
#include <boost/test/unit_test.hpp>

#include <string>

#include "core/mail/sealed_mail.hpp"

using namespace nidan::mail;

namespace {
const std::string message = "Subject: code\r\n\r\n\xE2\x96\xA0 482913\r\n";
}

BOOST_AUTO_TEST_CASE(a_sealed_message_opens_with_its_key_only) {
    const auto key = outbox_key("the server secret");
    BOOST_TEST(key.size() == 32u);
    BOOST_TEST(key == outbox_key("the server secret"));
    BOOST_TEST(key != outbox_key("another secret"));

    const auto sealed = seal_message(key, message);
    BOOST_TEST(sealed.starts_with("nidan-sealed-1:"));
    BOOST_TEST(sealed.find("482913") == std::string::npos);
    BOOST_TEST(sealed != seal_message(key, message));  // a fresh nonce each time
    BOOST_TEST(open_message(key, sealed).value_or("") == message);
    BOOST_TEST(!open_message(outbox_key("another secret"), sealed).has_value());
}

BOOST_AUTO_TEST_CASE(tampered_or_truncated_seals_do_not_open) {
    const auto key = outbox_key("s");
    auto sealed = seal_message(key, message);
    auto flipped = sealed;
    flipped[flipped.size() - 3] = static_cast<char>(flipped[flipped.size() - 3] ^ 1);
    BOOST_TEST(!open_message(key, flipped).has_value());
    BOOST_TEST(!open_message(key, sealed.substr(0, 20)).has_value());
    BOOST_TEST(!open_message(key, "nidan-sealed-1:").has_value());
    BOOST_TEST(!open_message("short key", sealed).has_value());
}

BOOST_AUTO_TEST_CASE(unsealed_messages_pass_through) {
    // Queued before sealing existed, or a mail without a secret.
    BOOST_TEST(open_message(outbox_key("s"), message).value_or("") == message);
    BOOST_TEST(open_message(outbox_key("s"), "").value_or("x") == "");
    BOOST_CHECK_THROW(seal_message("short key", message), std::invalid_argument);
}
