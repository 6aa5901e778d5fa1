#!/usr/bin/env bash
# LMDB against PostgreSQL, and one PostgreSQL node against two, in one invocation: five runs of
# bench/login_load.sh (the baseline phase only: no wrong passwords), then one table.
#   1. shipped Argon2id, LMDB, 1 node                 } logins/s ratio: what the database costs
#   2. shipped, PostgreSQL, 1 node                    }
#   3. shipped, PostgreSQL, 1 node pinned to core 0   } logins/s ratio: what a second node adds
#   4. shipped, PostgreSQL, 2 nodes on cores 0 and 1  }   when each has a core of its own
#   5. cheap Argon2id, PostgreSQL, 1 node: where the hash no longer hides it, the servers' CPU,
#      the database's CPU, its transactions and nidan's storage transactions per login.
#   6. and 7. the least Argon2id the config allows (8 KiB, 1 pass), LMDB and PostgreSQL: the
#      server's own CPU per login, next to nothing of it hashing.
# Each PostgreSQL run has a private cluster of its own (see login_load.sh), removed at the end.
# The clients, the SMTP sink and the database share the machine with the servers: on a small
# machine, pinning gives each node a core but not the core to itself. Prints figures; judges
# nothing. Bounded: 7 x (PHASE_SECONDS + a 1 s warm-up) of load, plus setup (about 1.5 min with
# the defaults).
#
# Environment: PHASE_SECONDS [5], CLIENTS [32], ACCOUNTS [2000], BUILD_DIR [build],
# SKIP_BUILD [0], NIDAN_SET [] as for login_load.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
[[ ${SKIP_BUILD:-0} == 1 ]] || bench/build_login_load.sh "$build_dir"

summary=$(mktemp)
log=$(mktemp)
trap 'rm -f "$summary" "$log"' EXIT

status=0
run() {  # name, then the environment of one login_load.sh run
  local name=$1
  shift
  echo "== $name" | tee -a "$log"
  if ! env SKIP_BUILD=1 WRONG_SHARE=0 SUMMARY="$summary" "$@" bench/login_load.sh >>"$log" 2>&1; then
    echo "backends: the run \"$name\" failed; its output:" >&2
    tail -20 "$log" >&2
    status=1
  fi
  # Tag the line the run added with the run's name.
  awk -F'\t' -v name="$name" 'BEGIN { OFS = "\t" } NF > 0 && $1 !~ /^@/ { $0 = "@" name "\t" $0 } { print }' \
    "$summary" >"$summary.new" && mv "$summary.new" "$summary"
}

run "lmdb, 1 node" BACKEND=lmdb HASH=shipped NODES=1
run "postgres, 1 node" BACKEND=postgres HASH=shipped NODES=1
run "postgres, 1 node, core 0" BACKEND=postgres HASH=shipped NODES=1 PIN=1
run "postgres, 2 nodes, cores 0+1" BACKEND=postgres HASH=shipped NODES=2 PIN=1
run "postgres, 1 node, cheap hash" BACKEND=postgres HASH=fast NODES=1
run "lmdb, 1 node, minimal hash" BACKEND=lmdb HASH=minimal NODES=1
run "postgres, 1 node, minimal hash" BACKEND=postgres HASH=minimal NODES=1

echo
echo "== backends (baseline logins, $(nproc) cores; per completed login: srv_ms the servers' CPU ms,"
echo "   db_ms the database's CPU ms, xacts its transactions (pg_stat_database), txns nidan's storage"
echo "   transactions (/metrics), txn_ms their mean BEGIN..COMMIT; cores: the servers' CPU / wall time)"
printf '%-30s %-26s %9s %6s %7s %6s %6s %5s %7s\n' run hash logins/s cores srv_ms db_ms xacts txns txn_ms
# Fields: @name, backend, nodes, cores, then login_load's summary line (bench_login_load.cpp's
# write_summary): label, phase, logins/s, ..., server cores (12), srv_ms, db_ms, xacts, txns, txn_ms.
awk -F'\t' '{
  name = substr($1, 2); rate[name] = $7
  printf "%-30s %-26s %9s %6s %7s %6s %6s %5s %7s\n", name, $5, $7, $16, $17, $18, $19, $20, $21
}
function ratio(a, b) { return rate[b] > 0 ? sprintf("%.2f", rate[a] / rate[b]) : "-" }
END {
  printf "\nlogins/s, shipped hash: postgres 1 node / lmdb 1 node = %s\n", ratio("postgres, 1 node", "lmdb, 1 node")
  printf "logins/s, shipped hash: postgres 2 nodes (cores 0+1) / 1 node (core 0) = %s\n",
    ratio("postgres, 2 nodes, cores 0+1", "postgres, 1 node, core 0")
}' "$summary"
exit "$status"
