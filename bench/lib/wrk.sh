# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables it sets are for the caller
# wrk helpers for the bench scripts (bash, sourced).
#
#   to_ms "1.23ms" | "456.00us" | "1.50s" | "2.00m"   prints milliseconds
#   wrk_run SECONDS THREADS CONNECTIONS URL [wrk options...]
#       runs wrk --latency (bounded by timeout) and sets wrk_rps, wrk_p50, wrk_p99 (ms),
#       wrk_non2xx, wrk_errors (connect + read + write + timeout); "?" when wrk printed none
to_ms() {
  awk -v t="$1" 'BEGIN {
    if (t == "" || t == "?") { print "?"; exit }
    n = t + 0; u = t; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.2f", n }'
}

wrk_run() {
  local seconds=$1 threads=$2 connections=$3 url=$4 out
  shift 4
  out=$(timeout $((seconds + 30)) wrk --latency -d "${seconds}s" -t "$threads" -c "$connections" "$@" "$url" || true)
  wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  wrk_rps=${wrk_rps:-?}
  wrk_p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  wrk_p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  wrk_non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  wrk_non2xx=${wrk_non2xx:-0}
  wrk_errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
  wrk_errors=${wrk_errors:-0}
}

# Installs a Debian package when the program it provides is missing:
#   apt_ensure PROGRAM PACKAGE   (PROGRAM a name on PATH or an absolute path)
apt_ensure() {
  local program=$1 package=$2
  if [[ $program == /* ]]; then [[ -x $program ]] && return 0; else command -v "$program" >/dev/null && return 0; fi
  echo "installing $package" >&2
  local sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  if ! DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null; then
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  fi
}

wrk_ensure() { apt_ensure wrk wrk; }
