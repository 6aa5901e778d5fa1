#pragma once
// Mails that carry a secret (a login code, a cancel link) are sealed before they go into the
// outbox, so that a copy of the data folder or of the database (a backup, a stolen disk) shows
// no live code: XChaCha20-Poly1305 under a key derived from the server secret, which
// storage.secret_file can keep out of the data folder. The delivery loop opens them just before
// sending. A stored message without the seal's prefix (queued before sealing existed, or a test
// mail) passes through unchanged.
#include <optional>
#include <string>
#include <string_view>

namespace nidan::mail {

// 32 bytes for sealing and opening, derived from the server secret (nothing else uses it).
std::string outbox_key(std::string_view server_secret);

// "nidan-sealed-1:" + 24-byte nonce + ciphertext with its 16-byte tag.
std::string seal_message(std::string_view key, std::string_view message);

// The message as it was sealed; the stored text as it is when it carries no seal; nullopt when
// the seal does not open (another server secret, or tampered bytes).
std::optional<std::string> open_message(std::string_view key, std::string_view stored);

}  // namespace nidan::mail
