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
# BACKEND=postgres runs it on PostgreSQL 15: a private cluster of its own (initdb in a temp
# folder, pg_ctl on a free 127.0.0.1 port, as the postgres user through runuser when run as
# root; fsync and synchronous_commit as shipped, as LMDB's full_sync), a fresh database per hash
# setting migrated with `nidan db migrate`, and NODES servers on it that the clients spread over.
# The cluster is stopped and removed at the end. The report then adds, per completed login, the
# servers' CPU, the database's CPU, its transactions and nidan's storage transactions.
#
# Environment (defaults in brackets):
#   PHASE_SECONDS [5]  seconds per kind of load     CLIENTS [32]       concurrent virtual clients
#   ACCOUNTS [2000]    accounts imported            WRONG_SHARE [0.10] wrong passwords among all attempts
#                                                                      (0: the baseline phase only)
#   HASH [both]        fast, minimal, shipped, both       BACKEND [lmdb]     lmdb or postgres
#   STATEMENTS [0]     1: the statements per login (pg_stat_statements), after each PostgreSQL run
#   NODES [1]          servers, 1-3 (postgres)      PIN []             1: node i pinned to core i (taskset's
#                                                                      sched_setaffinity); or cores "0,1"
#   BUILD_DIR [build]  where to build               SKIP_BUILD [0]     1: use the existing BUILD_DIR binaries
#   JOBS [nproc]       parallel compile jobs        NIDAN_SET []       extra server overrides, space separated:
#                                                   NIDAN_SET="hash.threads=2 storage.durability=no_sync"
#   SUMMARY []         a file to append the summary lines to, prefixed with backend, nodes and cores
#                      (bench/backends.sh reads them)
#   ROUNDS [3]         baseline/other pairs (ABBA)   IDLE_CONNECTIONS [0] N: the baseline against the same
#                                                    while N idle keep-alive connections are held open
#                                                    (bench_idle_connections; wrong passwords are not sent)
set -euo pipefail
cd "$(dirname "$0")/.."

phase_seconds=${PHASE_SECONDS:-5}
clients=${CLIENTS:-32}
accounts=${ACCOUNTS:-2000}
wrong_share=${WRONG_SHARE:-0.10}
build_dir=${BUILD_DIR:-build}
backend=${BACKEND:-lmdb}
nodes=${NODES:-1}
pin=${PIN:-}
hashes=${HASH:-both}
read -r -a extra_set <<<"${NIDAN_SET:-}"

for v in "$phase_seconds" "$clients" "$accounts"; do
  if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then echo "login_load: PHASE_SECONDS, CLIENTS and ACCOUNTS are positive integers" >&2; exit 2; fi
done
if ((phase_seconds > 120)); then echo "login_load: PHASE_SECONDS is at most 120" >&2; exit 2; fi
case $backend in lmdb | postgres) ;; *) echo "login_load: BACKEND is lmdb or postgres" >&2; exit 2 ;; esac
if ! [[ $nodes =~ ^[1-3]$ ]]; then echo "login_load: NODES is 1, 2 or 3" >&2; exit 2; fi
if [[ $backend == lmdb ]] && ((nodes > 1)); then echo "login_load: several NODES need BACKEND=postgres" >&2; exit 2; fi
case $hashes in both) hashes="fast shipped" ;; fast | minimal | shipped) ;; *) echo "login_load: HASH is fast, minimal, shipped or both" >&2; exit 2 ;; esac
cores=""
if [[ $pin == 1 ]]; then
  for ((i = 0; i < nodes; i++)); do cores+="${cores:+,}$((i % $(nproc)))"; done
elif [[ -n $pin && $pin != 0 ]]; then
  if ! [[ $pin =~ ^[0-9]+(,[0-9]+)*$ ]]; then echo "login_load: PIN is 1 or a list of cores such as 0,1" >&2; exit 2; fi
  cores=$pin
fi

[[ ${SKIP_BUILD:-0} == 1 ]] || bench/build_login_load.sh "$build_dir"
bench=$build_dir/bench/bench_login_load
nidan=$build_dir/nidan
for f in "$bench" "$nidan"; do
  [[ -x $f ]] || { echo "login_load: $f not found (build first, or unset SKIP_BUILD)" >&2; exit 1; }
done

summary=$(mktemp)
# shellcheck source=bench/lib/postgres.sh
source bench/lib/postgres.sh
trap 'pg_cluster_stop; rm -f "$summary"' EXIT

args=(--seconds "$phase_seconds" --clients "$clients" --accounts "$accounts" --wrong-share "$wrong_share"
      --nidan "$nidan" --summary "$summary" --nodes "$nodes" --rounds "${ROUNDS:-3}"
      --idle-connections "${IDLE_CONNECTIONS:-0}")
[[ -n $cores ]] && args+=(--pin-cores "$cores")
for s in "${extra_set[@]}"; do args+=(--set "$s"); done

if [[ $backend == postgres ]]; then
  pg_extra=""
  [[ ${STATEMENTS:-0} == 1 ]] && pg_extra="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  pg_cluster_start "$pg_extra"
  echo "PostgreSQL cluster on 127.0.0.1:$pg_port in $pg_dir"
fi

status=0
for hash in $hashes; do
  echo "== hash $hash, $backend, $nodes node(s)${cores:+, cores $cores}"
  run_args=(--hash "$hash" "${args[@]}")
  if [[ $backend == postgres ]]; then
    # A fresh database per run: each run imports the same accounts.
    url=$(pg_database "bench_$hash" "$nidan")
    db_set=(--set storage.backend=postgres --set "storage.postgres_url=$url")
    run_args+=("${db_set[@]}" --postgres-data "$pg_dir/data")
    if [[ ${STATEMENTS:-0} == 1 ]]; then
      psql -q -h 127.0.0.1 -p "$pg_port" -U nidan -d "bench_$hash" \
        -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
    fi
  fi
  # 3 kinds of load and the warm-up, plus room for setup and a slow shutdown.
  timeout $((3 * phase_seconds + 90)) "$bench" "${run_args[@]}" || { echo "login_load: the $hash run failed" >&2; status=1; }
  if [[ $backend == postgres && ${STATEMENTS:-0} == 1 ]]; then
    # Every login queues exactly one mail: statements per login are calls / that INSERT's calls.
    echo "-- statements per login (pg_stat_statements; per login = calls / the outbox INSERT's calls)"
    psql -h 127.0.0.1 -p "$pg_port" -U nidan -d "bench_$hash" -A -F $'\t' -P footer=off -c "
      WITH s AS (SELECT calls, regexp_replace(query, '\s+', ' ', 'g') AS q FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())),
           m AS (SELECT max(calls) AS mails FROM s WHERE q LIKE 'INSERT INTO outbox%')
      SELECT round(s.calls::numeric / NULLIF(m.mails, 0), 2) AS per_login, s.calls, left(s.q, 100) AS statement
      FROM s, m WHERE s.q NOT LIKE '%pg_stat_statements%' ORDER BY s.calls DESC LIMIT 40" |
      column -t -s $'\t'
    psql -h 127.0.0.1 -p "$pg_port" -U nidan -d "bench_$hash" -A -t -c "
      SELECT 'all statements per login: ' || round(sum(calls)::numeric / NULLIF(max(calls) FILTER
             (WHERE query LIKE 'INSERT INTO outbox%'), 0), 1)
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
  fi
  echo
done
if [[ -n ${SUMMARY:-} ]]; then
  while IFS= read -r line; do printf '%s\t%s\t%s\t%s\n' "$backend" "$nodes" "${cores:--}" "$line"; done <"$summary" >>"$SUMMARY"
fi

echo "== summary (times in ms; vs_base: logins/s against the same run's baseline; wrong%: wrong passwords"
echo "   among all password attempts; slowed: wrong passwords answered after a throttle delay;"
echo "   cores: the server's CPU time / wall time)"
echo "   per login: srv_ms the servers' CPU ms, db_ms the database's CPU ms, xacts its transactions,"
echo "   txns nidan's storage transactions)"
printf '%-26s %-25s %9s %7s %7s %7s %8s %8s %8s %6s %6s %5s %7s %6s %6s %5s\n' hash phase logins/s vs_base pw_p50 pw_p99 \
  code_p50 mail_p50 mail_p99 wrong% slowed cores srv_ms db_ms xacts txns
while IFS=$'\t' read -r label phase rate vs_base pw50 pw99 code50 mail50 mail99 wrong slowed srv_cores srv_ms db_ms xacts \
  txns _; do
  printf '%-26s %-25s %9s %7s %7s %7s %8s %8s %8s %6s %6s %5s %7s %6s %6s %5s\n' "$label" "$phase" "$rate" "$vs_base" \
    "$pw50" "$pw99" "$code50" "$mail50" "$mail99" "$wrong" "$slowed" "$srv_cores" "$srv_ms" "$db_ms" "$xacts" "$txns"
done <"$summary"
# Logins/s of the first baseline, fast against shipped: what the Argon2id cost does to throughput.
awk -F'\t' '$2 == "no wrong passwords" { rate[$1 ~ /^fast/ ? "fast" : "shipped"] = $3 }
  END { if (rate["shipped"] > 0) printf "\nbaseline logins/s fast / shipped = %.2f\n", rate["fast"] / rate["shipped"] }' "$summary"
exit "$status"
