#!/usr/bin/env bash
# Installs what nidan needs to build, run and test on Debian 12. Idempotent: a package already
# present is skipped, and apt is only touched when something is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  liblmdb-dev lmdb-utils libssl-dev libsodium-dev libunistring-dev
  # The PostgreSQL backend: libpq to build; the server for the tests, which start their own.
  libpq-dev postgresql-15
  libtomlplusplus-dev libkainjow-mustache-dev libspdlog-dev
  # The allocator the nidan binary links (CMake option NIDAN_MIMALLOC).
  libmimalloc-dev
  # operator.timezone names a zone of the system's time zone database.
  tzdata
  python3 python3-aiosmtpd curl openssl
  postfix wrk
  # The browser test drives headless chromium; the CJK fonts make its screenshots legible.
  chromium chromium-driver fonts-noto-cjk
)
# npm, for axe-core below. Debian's npm package brings nodejs with it; a nodejs from elsewhere
# that already has an npm command is left alone (Debian's npm would conflict with it).
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  # Postfix is installed for its smtp-sink test server only: no mail system gets configured.
  echo 'postfix postfix/main_mailer_type select No configuration' | "${sudo_cmd[@]}" debconf-set-selections
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# axe-core, the accessibility checker the browser test runs on every page it visits. Pinned, and
# kept inside the repository (git-ignored) so the test finds it by a path relative to the source:
# tests/support/node_modules/axe-core/axe.min.js. Fetched only when that version is not there yet.
axe_version=4.10.3
support_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/support"
axe_package="$support_dir/node_modules/axe-core/package.json"
if ! grep -q "\"version\": \"$axe_version\"" "$axe_package" 2>/dev/null; then
  echo "installing: axe-core@$axe_version (npm)" >&2
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    --prefix "$support_dir" "axe-core@$axe_version" >/dev/null
fi
