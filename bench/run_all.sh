#!/usr/bin/env bash
# Every figure of issue 10 in one invocation, each a ratio measured within one run, then ONE table:
# figure, measured, goal. Runs, in this order (each script's own output is printed as it goes):
#   1. bench/http_vs_nginx.sh      login page, /healthz, /auth/verify against nginx's static file
#   2. bench/hash_limit.sh         whole logins (shipped Argon2id) against threads x libsodium's
#                                  single-core verify rate, hash.threads 1 and 2
#   3. bench/login_load.sh         the minimal hash (8 KiB, 1 pass): the server's CPU per login
#   4. bench/login_latency.sh      stalled relay, saturated hash pool: on LMDB and on PostgreSQL
#   5. bench/login_load.sh         IDLE_CONNECTIONS: the minimal-hash baseline with and without
#                                  idle keep-alive connections held; the server's VmRSS per one
# Prints figures and the goals next to them; judges nothing. Loopback only; every script removes
# its temp folders (and its PostgreSQL cluster). Bounded: about 5 minutes with the defaults
# (SCALE=1; 3.5 to 5 minutes on the 2-core development machine), SCALE=2 doubles every load
# duration (stay below 10 minutes: SCALE=1 or 2).
#
# Environment (defaults in brackets):
#   BUILD_DIR [build]  SKIP_BUILD [0]  SCALE [1]  IDLE_CONNECTIONS [19000, or the open-files
#   hard limit less 1000 when lower: the server holds them all in one process]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
scale=${SCALE:-1}
[[ $scale =~ ^[1-3]$ ]] || { echo "run_all: SCALE is 1, 2 or 3" >&2; exit 2; }
hard_limit=$(ulimit -Hn)
idle=${IDLE_CONNECTIONS:-19000}
if [[ $hard_limit != unlimited ]] && ((idle > hard_limit - 1000)); then idle=$((hard_limit - 1000)); fi
((idle > 0)) || { echo "run_all: the open-files hard limit ($hard_limit) leaves no room for idle connections" >&2; exit 1; }
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  bench/build_login_load.sh "$build_dir"
  cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target bench_hash
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary=$work/summary
: >"$summary"
start=$SECONDS
status=0
step() {  # name, then the command line (env assignments first)
  local name=$1 t0=$SECONDS
  shift
  echo
  echo "==== $name ($(date -u +%H:%M:%S) UTC, $((SECONDS - start)) s in)"
  if ! env SKIP_BUILD=1 BUILD_DIR="$build_dir" "$@" 2>&1 | tee -a "$work/$name.log"; then
    echo "run_all: $name failed" >&2
    status=1
  fi
  echo "---- $name took $((SECONDS - t0)) s"
}

step nginx DURATION=$((8 * scale)) ROUNDS=2 SUMMARY="$summary" bench/http_vs_nginx.sh
step hash_limit PHASE_SECONDS=$((15 * scale)) SODIUM_SECONDS=3 SUMMARY="$summary" bench/hash_limit.sh
: >"$work/cheap.tsv"
step cheap_cpu HASH=minimal WRONG_SHARE=0 PHASE_SECONDS=$((10 * scale)) SUMMARY="$work/cheap.tsv" bench/login_load.sh
step latency_lmdb BACKEND=lmdb PHASE_SECONDS=$((6 * scale)) ROUNDS=2 PREPARED=50 SUMMARY="$summary" bench/login_latency.sh
step latency_postgres BACKEND=postgres PHASE_SECONDS=$((6 * scale)) ROUNDS=2 PREPARED=50 SUMMARY="$summary" bench/login_latency.sh
: >"$work/idle.tsv"
step idle HASH=minimal WRONG_SHARE=0 PHASE_SECONDS=$((12 * scale)) ROUNDS=2 IDLE_CONNECTIONS="$idle" \
  SUMMARY="$work/idle.tsv" bench/login_load.sh

# "figure<TAB>value" lines of the scripts; login_load.sh's rows: backend, nodes, cores, label,
# phase, logins/s (6), vs_base (7), ..., server cores (15), srv_ms (16).
get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "-" : v) }' "$summary"; }
cheap_rate=$(awk -F'\t' '$5 == "no wrong passwords" { print $6; exit }' "$work/cheap.tsv")
cheap_ms=$(awk -F'\t' '$5 == "no wrong passwords" { print $16; exit }' "$work/cheap.tsv")
idle_ratio=$(awk -F'\t' '$5 ~ /idle conns held/ { print $7; exit }' "$work/idle.tsv")
idle_line=$(grep -h '^idle_connections_summary' "$work/idle.log" | tail -n 1 || true)
idle_figure() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$idle_line"; }

elapsed=$((SECONDS - start))
echo
echo "==== issue 10 figures ($(date -u +%Y-%m-%d) $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $elapsed s in all)"
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
echo "| figure | measured | goal |"
echo "|---|---|---|"
row "login page GET req/s, nidan / nginx static file (wrk -t2 -c64)" \
  "$(get nginx.login.rps_ratio) ($(get nginx.login.rps) / $(get nginx.nginx.rps) req/s)" "≥ 1.0"
row "login page GET p99, nidan / nginx" \
  "$(get nginx.login.p99_ratio) ($(get nginx.login.p99_ms) / $(get nginx.nginx.p99_ms) ms)" "≤ 1.0 (no worse)"
row "/healthz req/s, nidan / nginx static file" "$(get nginx.healthz.rps_ratio) ($(get nginx.healthz.rps) req/s)" "≥ 1.2"
row "/auth/verify req/s, nidan / nginx static file" "$(get nginx.verify.rps_ratio) ($(get nginx.verify.rps) req/s)" "≥ 1.2"
for t in 1 2; do
  row "whole logins/s / ($t × libsodium single-core verifies/s), shipped Argon2id, hash.threads=$t" \
    "$(get hash_limit.$t.ratio) ($(get hash_limit.$t.logins_per_s) / $t × $(get hash_limit.$t.sodium_per_s))" "≥ 0.92"
done
row "whole logins/s / libsodium's verifies/s on 2 threads at once (what two hashes really get together), hash.threads=2" \
  "$(get hash_limit.2.ratio_together) ($(get hash_limit.2.logins_per_s) / $(get hash_limit.2.sodium_together_per_s))" "(reference)"
row "server CPU per whole login, minimal hash (8 KiB, 1 pass), LMDB" "${cheap_ms:--} ms (at ${cheap_rate:--} logins/s)" "< 1 ms"
for b in lmdb postgres; do
  row "password step p99, stalled relay / healthy, $b" \
    "$(get latency.$b.stall_password_p99_ratio) ($(get latency.$b.stalled_password_p99_ms) / $(get latency.$b.healthy_password_p99_ms) ms)" "≤ 1.10"
  row "/healthz p99, hash pool saturated / not, $b" \
    "$(get latency.$b.saturated_healthz_p99_ratio) ($(get latency.$b.saturated_healthz_p99_ms) / $(get latency.$b.healthy_healthz_p99_ms) ms)" "≤ 1.10"
  row "code step p99, hash pool saturated / not, $b" \
    "$(get latency.$b.saturated_code_p99_ratio) ($(get latency.$b.saturated_code_p99_ms) / $(get latency.$b.healthy_code_p99_ms) ms)" "≤ 1.10"
done
row "server VmRSS with idle keep-alive connections, projected to 50,000" \
  "$(idle_figure projected_50000_mb) MiB ($(idle_figure kb_per_connection) KiB each; $(idle_figure held) held, $(idle_figure rss_before_kb) → $(idle_figure rss_with_kb) KiB)" "< 300 MB"
row "login throughput (minimal hash) with $(idle_figure held) idle connections / without" "${idle_ratio:--}" "≥ 0.90"
echo
awk -v r="$(get hash_limit.2.logins_per_s)" -v n="$(nproc)" -v m="$(get hash_limit.memory_kib)" -v i="$(get hash_limit.iterations)" \
  'BEGIN { if (r + 0 > 0) printf "logins/s per core with the hash parameters (Argon2id m=%s KiB, t=%s, p=1; hash.threads=2 on %d cores, clients on the same cores): %.1f\n", m, i, n, r / n }'
echo "elapsed: $elapsed s"
exit "$status"
