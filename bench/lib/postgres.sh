# shellcheck shell=bash
# A private PostgreSQL 15 cluster for one benchmark run, sourced by bench scripts (bash):
# initdb in a temp folder, pg_ctl on a free 127.0.0.1 port (as the postgres user through runuser
# when run as root), fsync and synchronous_commit as shipped, as LMDB's full_sync. The caller
# stops it (pg_cluster_stop, e.g. in its EXIT trap), which also removes the folder.
#
#   pg_cluster_start [EXTRA_SERVER_OPTIONS]  sets pg_dir, pg_port; exits 1 on failure
#   pg_database NAME NIDAN                   creates database NAME, migrates it with `NIDAN db
#                                            migrate`, prints its postgres_url
#   pg_cluster_stop                          stops the cluster and removes pg_dir (idempotent)
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=""
pg_port=""
as_postgres=()

pg_cluster_start() {
  local extra=${1:-} port
  [[ -x $pg_bin/initdb ]] || { echo "postgres.sh: PostgreSQL 15 not found in $pg_bin" >&2; exit 1; }
  pg_dir=$(mktemp -d -t nidan-bench-pg-XXXXXX)
  if ((EUID == 0)); then
    chown postgres: "$pg_dir"
    as_postgres=(runuser -u postgres --)
  fi
  timeout 60 "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U nidan --no-sync >"$pg_dir/setup.log" 2>&1 ||
    { echo "postgres.sh: initdb failed: $(tail -3 "$pg_dir/setup.log")" >&2; exit 1; }
  # A port that was free a moment ago; another process may take it first, so a few tries.
  for _ in 1 2 3 4 5; do
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if timeout 60 "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
      -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=64MB${extra:+ $extra}" \
      start >>"$pg_dir/setup.log" 2>&1; then
      pg_port=$port
      return 0
    fi
  done
  echo "postgres.sh: pg_ctl start failed: $(tail -3 "$pg_dir/server.log")" >&2
  exit 1
}

pg_database() {
  local name=$1 nidan=$2 url
  url="postgresql://nidan@127.0.0.1:$pg_port/$name"
  psql -q -h 127.0.0.1 -p "$pg_port" -U nidan -d postgres -c "CREATE DATABASE $name" >/dev/null || return 1
  timeout 60 "$nidan" db migrate --config conf/nidan.toml --set storage.backend=postgres \
    --set "storage.postgres_url=$url" >/dev/null 2>"$pg_dir/migrate.log" ||
    { echo "postgres.sh: nidan db migrate failed: $(tail -3 "$pg_dir/migrate.log")" >&2; return 1; }
  echo "$url"
}

pg_cluster_stop() {
  if [[ -n $pg_dir ]]; then
    timeout 30 "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -t 20 -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
    pg_dir=""
  fi
}
