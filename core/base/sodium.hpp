#pragma once
// libsodium must be initialised once before its random numbers and hashes are used. Every user
// calls ensure_sodium() first; it throws std::runtime_error if libsodium cannot start (no
// entropy source), which is a startup failure, never a per-request one.
namespace nidan {

void ensure_sodium();

}  // namespace nidan
