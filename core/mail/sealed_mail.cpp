#include "core/mail/sealed_mail.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/base/sodium.hpp"

namespace nidan::mail {
namespace {

constexpr std::string_view seal_prefix = "nidan-sealed-1:";
constexpr std::string_view key_context = "nidan outbox seal 1";

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::string outbox_key(std::string_view server_secret) {
    ensure_sodium();
    std::string key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
    crypto_generichash(reinterpret_cast<unsigned char*>(key.data()), key.size(), bytes(key_context), key_context.size(),
                       bytes(server_secret), server_secret.size());
    return key;
}

std::string seal_message(std::string_view key, std::string_view message) {
    ensure_sodium();
    if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) throw std::invalid_argument("seal: key of the wrong size");
    std::string out(seal_prefix);
    const auto nonce_at = out.size();
    out.resize(nonce_at + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    randombytes_buf(out.data() + nonce_at, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    const auto cipher_at = out.size();
    out.resize(cipher_at + message.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.data() + cipher_at), &written,
                                               bytes(message), message.size(), bytes(seal_prefix), seal_prefix.size(),
                                               nullptr, bytes(std::string_view(out).substr(nonce_at)), bytes(key));
    out.resize(cipher_at + written);
    return out;
}

std::optional<std::string> open_message(std::string_view key, std::string_view stored) {
    if (!stored.starts_with(seal_prefix)) return std::string(stored);
    ensure_sodium();
    const auto sealed = stored.substr(seal_prefix.size());
    constexpr auto overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES || sealed.size() < overhead) return std::nullopt;
    const auto nonce = sealed.substr(0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    const auto cipher = sealed.substr(nonce.size());
    std::string out(cipher.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    unsigned long long written = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &written, nullptr,
                                                   bytes(cipher), cipher.size(), bytes(seal_prefix), seal_prefix.size(),
                                                   bytes(nonce), bytes(key)) != 0)
        return std::nullopt;
    out.resize(written);
    return out;
}

}  // namespace nidan::mail
