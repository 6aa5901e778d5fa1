#!/usr/bin/env bash
# How close the whole two-step login comes to the hash's own limit, in one run: for
# hash.threads = 1 and 2, the baseline of bench/login_load.sh (32 clients, no wrong passwords,
# the shipped Argon2id: hash.memory_kib and hash.iterations read from conf/nidan.toml) against
# threads x libsodium's single-core crypto_pwhash_argon2id_str_verify rate for the same
# parameters (bench_hash --sodium-only 1: nothing of nidan in that loop). The single-core rate
# is measured right before and right after each login run and averaged, so the drift of a
# shared machine falls on both sides alike. After each run libsodium also runs on `threads`
# threads at once (bench_hash --sodium-only THREADS): what that many hashes really get together,
# sharing the memory bus and caches. Prints logins/s, the rates and
#   ratio = logins/s / (threads x single-core verifies/s)
#   ratio_together = logins/s / (verifies/s of `threads` threads at once)
# Prints figures; judges nothing. Bounded: 2 x (PHASE_SECONDS + 1 s warm-up + setup) of logins
# and 4 x SODIUM_SECONDS of hashing.
#
# Environment (defaults in brackets):
#   PHASE_SECONDS [8]  seconds of logins per thread count    SODIUM_SECONDS [3] seconds per rate sample
#   THREADS_LIST [1 2] the hash.threads values               BACKEND [lmdb]     as for login_load.sh
#   BUILD_DIR [build]  SKIP_BUILD [0]                        NIDAN_SET []       extra server overrides
#   SUMMARY []         a file to append "figure<TAB>value" lines to (bench/run_all.sh reads them)
set -euo pipefail
cd "$(dirname "$0")/.."

phase_seconds=${PHASE_SECONDS:-8}
sodium_seconds=${SODIUM_SECONDS:-3}
threads_list=${THREADS_LIST:-1 2}
build_dir=${BUILD_DIR:-build}
[[ $phase_seconds =~ ^[1-9][0-9]*$ ]] || { echo "hash_limit: PHASE_SECONDS is a positive integer" >&2; exit 2; }
[[ $sodium_seconds =~ ^[1-9][0-9]?$ ]] || { echo "hash_limit: SODIUM_SECONDS is 1 to 60" >&2; exit 2; }
for t in $threads_list; do [[ $t =~ ^[1-9]$ ]] || { echo "hash_limit: THREADS_LIST holds 1 to 9" >&2; exit 2; }; done
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  bench/build_login_load.sh "$build_dir"
  cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target bench_hash
fi
bench_hash=$build_dir/bench/bench_hash
[[ -x $bench_hash ]] || { echo "hash_limit: $bench_hash not found (build first, or unset SKIP_BUILD)" >&2; exit 1; }

# The [hash] section's keys as shipped.
hash_key() { awk -v key="$1" '/^\[/ { in_hash = ($0 == "[hash]") } in_hash && $1 == key && $2 == "=" { print $3; exit }' conf/nidan.toml; }
memory_kib=$(hash_key memory_kib)
iterations=$(hash_key iterations)
[[ -n $memory_kib && -n $iterations ]] || { echo "hash_limit: no hash.memory_kib or hash.iterations in conf/nidan.toml" >&2; exit 1; }

summary=$(mktemp)
log=$(mktemp)
trap 'rm -f "$summary" "$log"' EXIT

sodium_rate() {  # [threads]
  timeout $((sodium_seconds + 60)) "$bench_hash" --sodium-only "${1:-1}" --seconds "$sodium_seconds" --memory-kib "$memory_kib" \
    --iterations "$iterations" | sed -n 's/^sodium_verify_per_s=\([0-9.]*\).*/\1/p'
}

echo "shipped Argon2id m=$memory_kib KiB t=$iterations; ${phase_seconds}s of logins per hash.threads value; $(nproc) cores"
printf '%-12s %9s %12s %12s %12s %7s %7s %7s %9s %8s\n' hash.threads logins/s sodium_before sodium_after "threads×rate" ratio cores srv_ms together ratio_tg
status=0
results=()
for t in $threads_list; do
  before=$(sodium_rate)
  : >"$summary"
  if ! env SKIP_BUILD=1 BUILD_DIR="$build_dir" HASH=shipped WRONG_SHARE=0 PHASE_SECONDS="$phase_seconds" SUMMARY="$summary" \
    NIDAN_SET="hash.threads=$t${NIDAN_SET:+ $NIDAN_SET}" bench/login_load.sh >>"$log" 2>&1; then
    echo "hash_limit: the login run with hash.threads=$t failed; its output:" >&2
    tail -20 "$log" >&2
    status=1
    continue
  fi
  after=$(sodium_rate)
  together=$(sodium_rate "$t")
  # login_load.sh's summary: backend, nodes, cores, label, phase, logins/s (6), ..., server cores (15), srv_ms (16).
  read -r rate cores srv_ms < <(awk -F'\t' '$5 == "no wrong passwords" { print $6, $15, $16; exit }' "$summary")
  line=$(awk -v t="$t" -v r="$rate" -v b="$before" -v a="$after" -v c="$cores" -v s="$srv_ms" -v g="$together" 'BEGIN {
    limit = t * (b + a) / 2
    printf "%-12s %9.1f %12.2f %12.2f %12.2f %7.2f %7s %7s %9.2f %8.2f", t, r, b, a, limit, (limit > 0 ? r / limit : 0), c, s,
      g, (g > 0 ? r / g : 0) }')
  echo "$line"
  results+=("$line")
done
echo
echo "sodium_before/after: libsodium crypto_pwhash_argon2id_str_verify per second on one thread, just before and"
echo "after the logins; ratio: logins/s / (threads × their mean); cores, srv_ms: the server's CPU / wall time and per login;"
echo "together: libsodium's verifies/s on hash.threads threads at once, after the logins; ratio_tg: logins/s / together"
if [[ -n ${SUMMARY:-} ]]; then
  for line in "${results[@]}"; do
    read -r t rate before after _ ratio _ _ together ratio_tg <<<"$line"
    printf 'hash_limit.%s.logins_per_s\t%s\nhash_limit.%s.sodium_per_s\t%s\nhash_limit.%s.ratio\t%s\n' \
      "$t" "$rate" "$t" "$(awk -v b="$before" -v a="$after" 'BEGIN { printf "%.2f", (b + a) / 2 }')" "$t" "$ratio" >>"$SUMMARY"
    printf 'hash_limit.%s.sodium_together_per_s\t%s\nhash_limit.%s.ratio_together\t%s\n' "$t" "$together" "$t" "$ratio_tg" >>"$SUMMARY"
  done
  printf 'hash_limit.memory_kib\t%s\nhash_limit.iterations\t%s\n' "$memory_kib" "$iterations" >>"$SUMMARY"
fi
exit "$status"
