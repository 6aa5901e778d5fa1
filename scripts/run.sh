#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, starts a local SMTP capture sink,
# creates the demo accounts (with the same `nidan user add` an operator uses) and runs the server
# on conf/nidan.toml. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

config=conf/nidan.toml
data_dir=data
mkdir -p "$data_dir/mail"

/usr/bin/python3 scripts/mail_sink.py --listen 127.0.0.1:2525 --dir "$data_dir/mail" &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT

# portal, id, email, phone: every demo account's password is demo-password
while IFS=, read -r portal id email phone; do
  if ! build/nidan user show --config "$config" --portal "$portal" --id "$id" >/dev/null 2>&1; then
    printf 'demo-password\n' | build/nidan user add --config "$config" --portal "$portal" --id "$id" \
      --email "$email" --phone "$phone" --password-stdin
  fi
done <<'ACCOUNTS'
ip-phone,demo-ip,ip-demo@example.jp,0312345678
mc050,demo-050,mc-demo@example.jp,09012345678
freevoice,demo-fv,fv-demo@example.jp,08012345678
freevoice,demo-nomail,,08087654321
ACCOUNTS

echo "demo accounts: demo-ip (ip-phone), demo-050 (mc050), demo-fv and demo-nomail (freevoice); password: demo-password"
echo "mail sent by nidan is printed here and kept in $data_dir/mail/"
build/nidan serve --config "$config" &
server=$!
trap 'kill "$server" "$sink" 2>/dev/null || true' INT TERM
trap 'kill "$sink" 2>/dev/null || true' EXIT
wait "$server"
