#!/usr/bin/env bash
# HTTP load on a local nidan: req/s and p50/p99 latency (wrk --latency) for /healthz, /readyz
# (an empty LMDB write transaction through the storage writer), /static/style.css, a login page
# (template rendering and a signed form token) and /auth/verify without a session, then
# /healthz again with server.io_threads=1 for the 1-vs-2 io thread ratio. Prints figures; judges
# nothing, except that the server must stop with exit code 0 on SIGTERM.
#
# Traffic goes to 127.0.0.1 only, to a server on a port the OS picks, with its data in a
# temporary folder that is removed at the end. wrk runs on the same machine, so it takes CPU
# from the server: the figures are for comparing builds, not a capacity promise.
#
# Environment (defaults in brackets):
#   DURATION [10]     seconds of load per path          THREADS [2]      wrk threads
#   CONNECTIONS [64]  open connections                  IO_THREADS [2]   server.io_threads of the main run
#   BUILD_DIR [build] where scripts/build.sh builds     SKIP_BUILD [0]   1: use the existing BUILD_DIR/nidan
#   NIDAN_SET []      extra overrides, space separated: NIDAN_SET="log.access_log=false storage.durability=no_sync"
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/wrk.sh
source bench/lib/wrk.sh

duration=${DURATION:-10}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
io_threads=${IO_THREADS:-2}
build_dir=${BUILD_DIR:-build}
read -r -a extra_set <<<"${NIDAN_SET:-}"

for v in "$duration" "$threads" "$connections" "$io_threads"; do
  if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then echo "http_load: DURATION, THREADS, CONNECTIONS and IO_THREADS are positive integers" >&2; exit 2; fi
done
if ((duration > 600)); then echo "http_load: DURATION is at most 600 seconds" >&2; exit 2; fi

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  BUILD_DIR=$build_dir scripts/build.sh
fi
nidan=$build_dir/nidan
[[ -x $nidan ]] || { echo "http_load: $nidan not found (build first, or unset SKIP_BUILD)" >&2; exit 1; }

wrk_ensure

tmp=$(mktemp -d)
server_pid=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

base_url=
# start_server NAME IO_THREADS: starts nidan on a free port of 127.0.0.1, sets server_pid and base_url.
start_server() {
  local name=$1 n=$2 set_args=() i
  mkdir -p "$tmp/$name"
  for i in "${extra_set[@]}"; do set_args+=(--set "$i"); done
  "$nidan" serve --config conf/nidan.toml --set server.listen=127.0.0.1:0 \
    --set "storage.data_dir=$tmp/$name/data" --set "server.io_threads=$n" "${set_args[@]}" \
    >"$tmp/$name/stdout" 2>"$tmp/$name/stderr" &
  server_pid=$!
  base_url=
  for ((i = 0; i < 100; i++)); do  # 10 s at most
    base_url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$tmp/$name/stdout" | head -n 1)
    [[ -n $base_url ]] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "http_load: the server did not start; its stderr:" >&2
  tail -n 20 "$tmp/$name/stderr" >&2
  exit 1
}

# stop_server: SIGTERM, waits (bounded), prints and returns the exit code.
stop_server() {
  local rc=0 i
  kill -TERM "$server_pid"
  for ((i = 0; i < 300; i++)); do  # 30 s at most: shutdown_grace_ms is 10 s by default
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "  server still running 30 s after SIGTERM: killed" >&2
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" || rc=$?
  server_pid=
  return "$rc"
}

results=()  # "io_threads path req/s p50 p99 non2xx errors"
# load IO_THREADS PATH: runs wrk against the server started with IO_THREADS io threads.
load() {
  local n=$1 path=$2
  wrk_run "$duration" "$threads" "$connections" "$base_url$path"
  results+=("$n $path $wrk_rps $wrk_p50 $wrk_p99 $wrk_non2xx $wrk_errors")
  printf '  io_threads=%s %-18s %10s req/s\n' "$n" "$path" "$wrk_rps" >&2
}

status=0
echo "wrk: ${duration}s per path, $threads threads, $connections connections; server on $(nproc) cores, same machine" >&2

start_server main "$io_threads"
echo "server (io_threads=$io_threads) at $base_url" >&2
for path in /healthz /readyz /static/style.css /selfcare/SelfcareLogin.in /auth/verify; do load "$io_threads" "$path"; done
main_rc=0
stop_server || main_rc=$?

if [[ $io_threads == 1 ]]; then other=2; else other=1; fi
start_server other "$other"
echo "server (io_threads=$other) at $base_url" >&2
load "$other" /healthz
other_rc=0
stop_server || other_rc=$?

echo
printf '%-10s %-18s %10s %9s %9s %8s %7s\n' io_threads path req/s p50_ms p99_ms non-2xx errors
for r in "${results[@]}"; do
  # shellcheck disable=SC2086
  printf '%-10s %-18s %10s %9s %9s %8s %7s\n' $r
done
echo
healthz_rate() { for r in "${results[@]}"; do read -r n p rps _ <<<"$r"; [[ $n == "$1" && $p == /healthz ]] && echo "$rps"; done; }
hi=$((io_threads > other ? io_threads : other)); lo=$((io_threads > other ? other : io_threads))
awk -v a="$(healthz_rate "$hi")" -v b="$(healthz_rate "$lo")" -v hi="$hi" -v lo="$lo" \
  'BEGIN { if (b > 0) printf "/healthz req/s io_threads=%s / io_threads=%s = %.2f\n", hi, lo, a / b }'
for pair in "io_threads=$io_threads:$main_rc" "io_threads=$other:$other_rc"; do
  rc=${pair#*:}
  if [[ $rc == 0 ]]; then echo "server ${pair%%:*} exit code after SIGTERM: 0"
  else echo "server ${pair%%:*} exit code after SIGTERM: $rc (expected 0)"; status=1; fi
done
exit "$status"
