#!/usr/bin/env bash
# The password step of a login (POST of the login form: Argon2id check, session, code and its
# mail committed to the outbox) timed with curl, first with a healthy mail relay (the aiosmtpd
# sink), then with a relay that accepts connections and never answers. Prints p50/p90/max per
# case and their ratio: a stalled relay must not slow the login down.
# Bounded: LOGINS logins per case (default 60), loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
logins=${LOGINS:-60}
build_dir=${BUILD_DIR:-build}
[ "${SKIP_BUILD:-0}" = 1 ] || scripts/build.sh >/dev/null
nidan="$build_dir/nidan"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_case() {  # $1 = name, $2 = relay port
  local data="$work/$1" port out
  mkdir -p "$data"
  printf 'bench-password\n' | "$nidan" user add --config conf/nidan.toml --set storage.data_dir="$data" \
    --portal ip-phone --id bench --email bench@example.jp --phone 0312345678 --password-stdin >/dev/null 2>&1
  out="$work/$1.out"
  "$nidan" serve --config conf/nidan.toml --set storage.data_dir="$data" --set server.listen=127.0.0.1:0 \
    --set smtp.relay="127.0.0.1:$2" --set code.mails_per_hour=100 --set log.access_log=false >"$out" 2>"$work/$1.err" &
  local server=$!
  pids+=("$server")
  for _ in $(seq 100); do grep -q 'listening on' "$out" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -o '[0-9]*$' "$out")
  local url="http://127.0.0.1:$port/selfcare/SelfcareLogin.in" jar="$work/$1.jar" times="$work/$1.times"
  : >"$times"
  for _ in $(seq "$logins"); do
    rm -f "$jar"
    local csrf
    csrf=$(curl -s -c "$jar" "$url" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"//')
    curl -s -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' \
      --data-urlencode "csrf=$csrf" -d 'selfcare_id=bench&password=bench-password' "$url" >>"$times"
  done
  kill -TERM "$server"; wait "$server" || true
  local bad; bad=$(awk '$1 != 303' "$times" | wc -l)
  sort -k2 -n "$times" | awk -v name="$1" -v bad="$bad" '{ t[NR] = $2 * 1000 } END {
    printf "%-34s %6d %9.2f %9.2f %9.2f %8d\n", name, NR, t[int(NR*0.5)+1], t[int(NR*0.9)+1], t[NR], bad }'
}

sink_port=$(free_port)
/usr/bin/python3 scripts/mail_sink.py --listen "127.0.0.1:$sink_port" --dir "$work/mail" >/dev/null 2>&1 &
pids+=($!)
stall_port=$(free_port)
# Accepts and never answers (the greeting never comes).
/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $stall_port)); s.listen(100); held = []
while True: held.append(s.accept()[0])" &
pids+=($!)
sleep 1

echo "password step (POST login form), $logins logins per case, times in ms"
printf '%-34s %6s %9s %9s %9s %8s\n' relay logins p50 p90 max non-303
healthy=$(run_case healthy "$sink_port"); echo "$healthy"
stalled=$(run_case stalled "$stall_port"); echo "$stalled"
echo "$healthy $stalled" | awk '{ printf "\nstalled / healthy: p50 x%.2f, p90 x%.2f\n", $9 / $3, $10 / $4 }'
