#!/usr/bin/env bash
# The full two-step login under load over the JSON API (bench/bench_login_load.cpp: password,
# the code from an SMTP sink of its own, code), once with fast Argon2id settings
# (hash.memory_kib=8192, hash.iterations=1) and once with the shipped ones (19456 KiB, 2 passes).
# Each run alternates a baseline (no wrong passwords) with a share of wrong passwords from 254
# addresses (never throttled) in rounds, so their ratio is measured in one run, then sends the
# same share from a few addresses at a few accounts (throttled). Prints each run's report, then
# one table. Prints figures; judges nothing.
#
# Traffic goes to 127.0.0.1 only, to a server on a port the OS picks, with its data in a
# temporary folder that is removed at the end. The clients and the sink run on the same machine
# and take a little CPU from the server. Bounded: 3 x PHASE_SECONDS of load plus a 1 s warm-up
# per hash setting (about 45 s in all with the defaults).
#
# Environment (defaults in brackets):
#   PHASE_SECONDS [5]  seconds per kind of load     CLIENTS [32]       concurrent virtual clients
#   ACCOUNTS [2000]    accounts imported            WRONG_SHARE [0.10] wrong passwords among all attempts
#   BUILD_DIR [build]  where to build               SKIP_BUILD [0]     1: use the existing BUILD_DIR binaries
#   JOBS [nproc]       parallel compile jobs        NIDAN_SET []       extra server overrides, space separated:
#                                                   NIDAN_SET="hash.threads=2 storage.durability=no_sync"
set -euo pipefail
cd "$(dirname "$0")/.."

phase_seconds=${PHASE_SECONDS:-5}
clients=${CLIENTS:-32}
accounts=${ACCOUNTS:-2000}
wrong_share=${WRONG_SHARE:-0.10}
build_dir=${BUILD_DIR:-build}
read -r -a extra_set <<<"${NIDAN_SET:-}"

for v in "$phase_seconds" "$clients" "$accounts"; do
  if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then echo "login_load: PHASE_SECONDS, CLIENTS and ACCOUNTS are positive integers" >&2; exit 2; fi
done
if ((phase_seconds > 120)); then echo "login_load: PHASE_SECONDS is at most 120" >&2; exit 2; fi

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  if [[ -f $build_dir/CMakeCache.txt ]]; then
    cmake -S . -B "$build_dir" >/dev/null
  else
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  fi
  cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target nidan bench_login_load
fi
bench=$build_dir/bench/bench_login_load
nidan=$build_dir/nidan
for f in "$bench" "$nidan"; do
  [[ -x $f ]] || { echo "login_load: $f not found (build first, or unset SKIP_BUILD)" >&2; exit 1; }
done

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
args=(--seconds "$phase_seconds" --clients "$clients" --accounts "$accounts" --wrong-share "$wrong_share"
      --nidan "$nidan" --summary "$summary")
for s in "${extra_set[@]}"; do args+=(--set "$s"); done

status=0
for hash in fast shipped; do
  echo "== hash $hash"
  # 3 kinds of load and the warm-up, plus room for setup and a slow shutdown.
  timeout $((3 * phase_seconds + 90)) "$bench" --hash "$hash" "${args[@]}" || { echo "login_load: the $hash run failed" >&2; status=1; }
  echo
done

echo "== summary (times in ms; vs_base: logins/s against the same run's baseline; wrong%: wrong passwords"
echo "   among all password attempts; slowed: wrong passwords answered after a throttle delay;"
echo "   cores: the server's CPU time / wall time)"
printf '%-26s %-25s %9s %7s %7s %7s %8s %8s %8s %6s %6s %5s\n' hash phase logins/s vs_base pw_p50 pw_p99 code_p50 \
  mail_p50 mail_p99 wrong% slowed cores
while IFS=$'\t' read -r label phase rate vs_base pw50 pw99 code50 mail50 mail99 wrong slowed cores; do
  printf '%-26s %-25s %9s %7s %7s %7s %8s %8s %8s %6s %6s %5s\n' "$label" "$phase" "$rate" "$vs_base" "$pw50" "$pw99" \
    "$code50" "$mail50" "$mail99" "$wrong" "$slowed" "$cores"
done <"$summary"
# Logins/s of the first baseline, fast against shipped: what the Argon2id cost does to throughput.
awk -F'\t' '$2 == "no wrong passwords" { rate[$1 ~ /^fast/ ? "fast" : "shipped"] = $3 }
  END { if (rate["shipped"] > 0) printf "\nbaseline logins/s fast / shipped = %.2f\n", rate["fast"] / rate["shipped"] }' "$summary"
exit "$status"
