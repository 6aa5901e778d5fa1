# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables it sets are for the caller
# Starting and stopping `nidan serve` for the bench scripts (bash, sourced). The caller sets
# nidan (the binary) and tmp (a work folder it removes), and calls nidan_stop_all in its EXIT trap.
#
#   nidan_start NAME [--set key=value ...]
#       serve with conf/nidan.toml on a free port of 127.0.0.1, data in $tmp/NAME/data, stdout
#       and stderr (the log, access log included as shipped) in $tmp/NAME/; sets server_pid,
#       base_url (http://127.0.0.1:PORT) and server_port; exits 1 when it does not start in 10 s
#   nidan_stop PID      SIGTERM, waits (30 s at most, then SIGKILL); returns the exit code
#   nidan_stop_all      SIGKILL to every server still running (for the EXIT trap)
nidan_pids=()
# shellcheck disable=SC2154  # nidan and tmp are the caller's

nidan_start() {
  local name=$1 i
  shift
  mkdir -p "$tmp/$name"
  "$nidan" serve --config conf/nidan.toml --set server.listen=127.0.0.1:0 --set "storage.data_dir=$tmp/$name/data" "$@" \
    >"$tmp/$name/stdout" 2>"$tmp/$name/stderr" &
  server_pid=$!
  nidan_pids+=("$server_pid")
  base_url=
  for ((i = 0; i < 100; i++)); do
    base_url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$tmp/$name/stdout" | head -n 1)
    if [[ -n $base_url ]]; then
      server_port=${base_url##*:}
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "nidan.sh: the server $name did not start; its stderr:" >&2
  tail -n 20 "$tmp/$name/stderr" >&2
  exit 1
}

nidan_stop() {
  local pid=$1 rc=0 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "nidan.sh: server $pid still running 30 s after SIGTERM: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" || rc=$?
  return "$rc"
}

nidan_stop_all() {
  local pid
  for pid in "${nidan_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
