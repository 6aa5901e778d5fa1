#include "server/app/secret_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/config/config.hpp"
#include "core/base/log.hpp"
#include "core/base/sodium.hpp"

namespace nidan::server {
namespace {

constexpr const char* key = "storage.secret_file";

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& reason) {
    throw config_error(key, "'" + file.string() + "': " + reason);
}

struct fd_closer {
    int fd;
    ~fd_closer() { if (fd >= 0) ::close(fd); }
};

std::string read_existing(const std::filesystem::path& file, std::size_t bytes) {
    fd_closer f{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (f.fd < 0) fail(file, std::string("cannot open: ") + std::strerror(errno));
    struct stat st{};
    if (::fstat(f.fd, &st) != 0) fail(file, std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail(file, "not a regular file");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        fail(file, std::string("mode ") + mode + " lets group or others read or write the key; chmod 600 it");
    }
    if (static_cast<std::size_t>(st.st_size) != bytes)
        fail(file, "holds " + std::to_string(st.st_size) + " bytes, not " + std::to_string(bytes) +
                       " (a truncated or foreign file; replacing it would void every issued token)");
    std::string secret(bytes, '\0');
    std::size_t got = 0;
    while (got < bytes) {
        const auto n = ::read(f.fd, secret.data() + got, bytes - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(file, std::string("cannot read: ") + (n < 0 ? std::strerror(errno) : "short file"));
        got += static_cast<std::size_t>(n);
    }
    return secret;
}

}  // namespace

std::string load_secret_file(const std::filesystem::path& file, std::size_t bytes,
                             const std::optional<std::string>& seed) {
    fd_closer f{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
    if (f.fd < 0) {
        if (errno == EEXIST) return read_existing(file, bytes);
        fail(file, std::string("cannot create: ") + std::strerror(errno));
    }
    std::string secret;
    if (seed && seed->size() == bytes) {
        secret = *seed;
    } else {
        ensure_sodium();
        secret.assign(bytes, '\0');
        randombytes_buf(secret.data(), secret.size());
    }
    ::fchmod(f.fd, 0600);  // the umask may have taken bits away, never added; make it exact
    std::size_t put = 0;
    while (put < bytes) {
        const auto n = ::write(f.fd, secret.data() + put, bytes - put);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string reason = std::string("cannot write: ") + std::strerror(errno);
            ::unlink(file.c_str());
            fail(file, reason);
        }
        put += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
        const std::string reason = std::string("cannot sync: ") + std::strerror(errno);
        ::unlink(file.c_str());
        fail(file, reason);
    }
    log::info("secret.file_created").add("file", file.string()).add("from_storage", seed ? "yes" : "no");
    return secret;
}

}  // namespace nidan::server
