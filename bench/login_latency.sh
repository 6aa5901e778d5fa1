#!/usr/bin/env bash
# Latency of a login's steps when something around them is slow, in one run, against the same
# steps when nothing is (bench/lib/latency_probe.py: one sequential client over the JSON API, and
# GET /healthz every 20 ms on a connection of its own):
#   healthy    the relay is a healthy SMTP sink (scripts/mail_sink.py), nothing else runs;
#   stalled    a second server whose relay accepts connections and never answers (the greeting
#              never comes): its mails pile up undelivered, its password step must not slow down;
#   saturated  the healthy server while wrk keeps its hash pool busy: SATURATORS connections post
#              password steps for unknown IDs (each costs one Argon2id verify, as a known ID does)
#              from random addresses of 10.0.0.0/8 (X-Forwarded-For; the server trusts
#              127.0.0.1 as its proxy), so no throttle delay cuts the load short. /healthz and the
#              code step (no hashing) must not slow down; the password step waits for the pool
#              and is not measured there.
# The code step is measured apart from the password step (as well as within the healthy case's
# whole logins): before the healthy and the saturated case, PREPARED accounts each take a
# password step untimed, and during the case their code steps are spread over it, so saturation
# cannot thin the samples out.
# ROUNDS rounds of the three, in reversed order every other round, so the drift of a shared
# machine falls on all alike. Prints p50/p99/max per case and step, and the ratios:
#   password p99, stalled / healthy; /healthz p99 and code p99, saturated / healthy.
# Prints figures; judges nothing.
#
# BACKEND=postgres runs both servers on a private PostgreSQL 15 cluster (bench/lib/postgres.sh),
# a database each. Loopback only; temp folders and the cluster are removed at the end. Bounded:
# ROUNDS x 3 x (PHASE_SECONDS + 1 s) of load plus setup.
#
# Environment (defaults in brackets):
#   PHASE_SECONDS [4]  seconds per case and round      ROUNDS [2]       rounds
#   SATURATORS [16]    wrk connections of the load     ACCOUNTS [12]    accounts the login probe cycles through
#   PREPARED [30]      code steps per healthy and saturated case
#   BACKEND [lmdb]     lmdb or postgres                 BUILD_DIR [build] SKIP_BUILD [0]
#   NIDAN_SET []       extra server overrides, space separated
#   SUMMARY []         a file to append "figure<TAB>value" lines to (bench/run_all.sh reads them)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/nidan.sh
source bench/lib/nidan.sh
# shellcheck source=bench/lib/postgres.sh
source bench/lib/postgres.sh
# shellcheck source=bench/lib/wrk.sh
source bench/lib/wrk.sh

phase_seconds=${PHASE_SECONDS:-4}
rounds=${ROUNDS:-2}
saturators=${SATURATORS:-16}
accounts=${ACCOUNTS:-12}
prepared=${PREPARED:-30}
backend=${BACKEND:-lmdb}
build_dir=${BUILD_DIR:-build}
read -r -a extra_set <<<"${NIDAN_SET:-}"
for v in "$phase_seconds" "$rounds" "$saturators" "$accounts" "$prepared"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "login_latency: PHASE_SECONDS, ROUNDS, SATURATORS, ACCOUNTS and PREPARED are positive integers" >&2; exit 2; }
done
((phase_seconds <= 60 && rounds <= 10 && saturators <= 64 && accounts <= 100 && prepared <= 200)) ||
  { echo "login_latency: PHASE_SECONDS <= 60, ROUNDS <= 10, SATURATORS <= 64, ACCOUNTS <= 100, PREPARED <= 200" >&2; exit 2; }
case $backend in lmdb | postgres) ;; *) echo "login_latency: BACKEND is lmdb or postgres" >&2; exit 2 ;; esac
[[ ${SKIP_BUILD:-0} == 1 ]] || BUILD_DIR=$build_dir scripts/build.sh >/dev/null
nidan=$build_dir/nidan
[[ -x $nidan ]] || { echo "login_latency: $nidan not found (build first, or unset SKIP_BUILD)" >&2; exit 1; }
wrk_ensure

tmp=$(mktemp -d)
helpers=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local p
  for p in "${helpers[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  nidan_stop_all
  pg_cluster_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sink_port=$(free_port)
/usr/bin/python3 scripts/mail_sink.py --listen "127.0.0.1:$sink_port" --dir "$tmp/mail" >/dev/null 2>&1 &
helpers+=($!)
stall_port=$(free_port)
/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $stall_port)); s.listen(100); held = []
while len(held) < 10000: held.append(s.accept()[0])
time.sleep(3600)" &
helpers+=($!)

portal=$(sed -n 's/^id *= *"\([^"]*\)".*/\1/p' conf/nidan.toml | head -n 1)
password=bench-password-1
common_set=(--set server.trusted_proxies=127.0.0.1 --set code.mails_per_hour=100)
for s in "${extra_set[@]}"; do common_set+=(--set "$s"); done
if [[ $backend == postgres ]]; then pg_cluster_start ""; fi

# start_case NAME RELAY_PORT PREPARED: storage, accounts (bench0.., and prep0.. for prepared code
# steps) and a server for one relay; sets case_port, case_pid.
start_case() {
  local name=$1 relay=$2 prep=$3 db_set=() id
  mkdir -p "$tmp/$name"
  if [[ $backend == postgres ]]; then
    db_set=(--set storage.backend=postgres --set "storage.postgres_url=$(pg_database "latency_$name" "$nidan")")
  fi
  for id in $(seq -f 'bench%g' 0 $((accounts - 1))) $( ((prep > 0)) && seq -f 'prep%g' 0 $((prep - 1))); do
    printf '%s\n' "$password" | timeout 60 "$nidan" user add --config conf/nidan.toml --set "storage.data_dir=$tmp/$name/data" \
      "${db_set[@]}" --portal "$portal" --id "$id" --email "$id@example.jp" --phone 0312345678 --password-stdin \
      >/dev/null 2>"$tmp/$name/user_add.err" ||
      { echo "login_latency: user add failed: $(tail -3 "$tmp/$name/user_add.err")" >&2; exit 1; }
  done
  nidan_start "$name" "${db_set[@]}" "${common_set[@]}" --set "smtp.relay=127.0.0.1:$relay"
  case_port=$server_port
  case_pid=$server_pid
}
start_case healthy "$sink_port" "$prepared"
healthy_port=$case_port
healthy_pid=$case_pid
start_case stalled "$stall_port" 0
stalled_port=$case_port
stalled_pid=$case_pid

# Unknown IDs from random addresses: every request is one Argon2id verify and no throttle applies.
cat >"$tmp/saturate.lua" <<LUA
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  local id = string.format("nobody%d", math.random(1, 1000000000))
  local xff = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", "/api/v1/$portal/login",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = xff },
    string.format('{"selfcare_id":"%s","password":"wrong-password"}', id))
end
LUA

samples=$tmp/samples
mkdir -p "$samples"
probe=bench/lib/latency_probe.py
# run_probes CASE PORT MAILDIR|-|none [TOKENS]: for PHASE_SECONDS together: the /healthz probe,
# the login probe unless MAILDIR is none, the prepared code steps when TOKENS is given.
run_probes() {
  local name=$1 port=$2 maildir=$3 tokens=${4:-} pids=() p
  local limit=(timeout $((phase_seconds + 40)) /usr/bin/python3 "$probe")
  if [[ $maildir != none ]]; then
    "${limit[@]}" login "$port" "$phase_seconds" "$samples/$name" "$portal" bench "$accounts" "$password" "$maildir" &
    pids+=($!)
  fi
  "${limit[@]}" healthz "$port" "$phase_seconds" "$samples/$name" &
  pids+=($!)
  if [[ -n $tokens ]]; then
    "${limit[@]}" codes "$port" "$phase_seconds" "$samples/$name" "$tokens" "$portal" &
    pids+=($!)
  fi
  for p in "${pids[@]}"; do wait "$p" || echo "login_latency: a probe of $name failed" >&2; done
}
# prepare_codes: a password step for every prep account (untimed); prints the tokens file.
prepare_codes() {
  timeout 120 /usr/bin/python3 "$probe" prepare "$healthy_port" "$tmp/tokens" "$portal" prep "$prepared" "$password" "$tmp/mail" >&2
  echo "$tmp/tokens"
}
run_case() {
  local tokens
  case $1 in
  healthy)
    tokens=$(prepare_codes)
    run_probes healthy "$healthy_port" "$tmp/mail" "$tokens"
    ;;
  stalled) run_probes stalled "$stalled_port" - ;;
  saturated)
    tokens=$(prepare_codes)
    # wrk starts a second early so the pool is full when the probes start, and ends with them.
    timeout $((phase_seconds + 31)) wrk -d "$((phase_seconds + 1))s" -t 1 -c "$saturators" -s "$tmp/saturate.lua" \
      "http://127.0.0.1:$healthy_port/api/v1/$portal/login" >>"$tmp/wrk.out" 2>&1 &
    local w=$!
    sleep 1
    run_probes saturated "$healthy_port" none "$tokens"
    wait "$w" || true
    ;;
  esac
  echo "  round $((r + 1)) $1 done" >&2
}

echo "login latency on $backend: ${phase_seconds}s per case, $rounds rounds, saturation by $saturators wrk connections;" \
  "$(nproc) cores shared with the probes, the sink and wrk" >&2
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then order=(healthy stalled saturated); else order=(saturated stalled healthy); fi
  for c in "${order[@]}"; do run_case "$c"; done
done
# The saturating load's own rate: unknown-ID password steps per second (every one a 401).
sat_rps=$(awk '/^Requests\/sec:/ { s += $2; n++ } END { if (n) printf "%.1f", s / n }' "$tmp/wrk.out")

healthy_rc=0 stalled_rc=0
nidan_stop "$healthy_pid" || healthy_rc=$?
nidan_stop "$stalled_pid" || stalled_rc=$?

# stats CASE KIND -> "count p50 p99 max non2xx" (non2xx: statuses other than 200)
stats() {
  local bad
  bad=$(awk -v k="$2" '$1 == k && $3 != 200 { n++ } END { print n + 0 }' "$samples/$1")
  awk -v k="$2" '$1 == k { print $2 }' "$samples/$1" | sort -n | awk -v bad="$bad" '{ v[NR] = $1 } END {
      if (NR == 0) { print 0, "-", "-", "-", 0; exit }
      i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
      printf "%d %.2f %.2f %.2f %s\n", NR, v[i50], v[i99], v[NR], bad }'
}
declare -A p99
echo
echo "login latency, $backend, times in ms (non-200: answers other than 200; login_code: the code step of the"
echo "login probe's whole logins; code: the prepared code steps; nomail: codes not at the sink within 5 s)"
printf '%-10s %-10s %6s %9s %9s %9s %8s\n' case step count p50 p99 max non-200
for c in healthy stalled saturated; do
  for k in password login_code code healthz; do
    [[ $c != healthy && $k == login_code ]] && continue
    [[ $c == stalled && $k == code ]] && continue
    [[ $c == saturated && $k == password ]] && continue
    read -r n a50 a99 amax bad < <(stats "$c" "$k")
    p99[$c.$k]=$a99
    printf '%-10s %-10s %6s %9s %9s %9s %8s\n' "$c" "$k" "$n" "$a50" "$a99" "$amax" "$bad"
  done
done
nomail=$(awk '$1 == "nomail"' "$samples/healthy" | wc -l)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }
stall_ratio=$(ratio "${p99[stalled.password]}" "${p99[healthy.password]}")
healthz_ratio=$(ratio "${p99[saturated.healthz]}" "${p99[healthy.healthz]}")
code_ratio=$(ratio "${p99[saturated.code]}" "${p99[healthy.code]}")
echo
echo "nomail: $nomail; the saturating load alone: ${sat_rps:-?} unknown-ID password steps/s"
echo "password p99, stalled relay / healthy relay = $stall_ratio"
echo "/healthz p99, hash pool saturated / not = $healthz_ratio"
echo "code step p99, hash pool saturated / not = $code_ratio"
echo "server exit codes after SIGTERM: healthy $healthy_rc, stalled $stalled_rc"
if [[ -n ${SUMMARY:-} ]]; then
  printf 'latency.%s.%s\t%s\n' "$backend" stall_password_p99_ratio "$stall_ratio" "$backend" saturated_healthz_p99_ratio \
    "$healthz_ratio" "$backend" saturated_code_p99_ratio "$code_ratio" "$backend" healthy_password_p99_ms \
    "${p99[healthy.password]}" "$backend" stalled_password_p99_ms "${p99[stalled.password]}" "$backend" \
    healthy_healthz_p99_ms "${p99[healthy.healthz]}" "$backend" saturated_healthz_p99_ms "${p99[saturated.healthz]}" \
    "$backend" healthy_code_p99_ms "${p99[healthy.code]}" "$backend" saturated_code_p99_ms "${p99[saturated.code]}" \
    "$backend" saturation_rps "${sat_rps:-?}" >>"$SUMMARY"
fi
[[ $healthy_rc == 0 && $stalled_rc == 0 ]]
