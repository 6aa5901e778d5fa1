#!/usr/bin/env bash
# nidan against nginx on the same machine, in one run: nginx serves, as a static file, exactly
# the bytes of one nidan login page (fetched once with curl), and wrk (THREADS threads,
# CONNECTIONS keep-alive connections, --latency) loads in turn nginx's file, nidan's login page
# (the first portal's login_path in conf/nidan.toml), /healthz and /auth/verify (no session:
# 401). Prints req/s, p50 and p99 per target and each nidan target's ratio to nginx. Prints
# figures; judges nothing.
#
# Fair by construction, as far as one machine allows:
#   - the same cores: nginx worker_processes = nidan's server.io_threads (2, as shipped);
#   - access logs as shipped on both: nginx's access_log on to a file in its default (combined)
#     format; nidan as conf/nidan.toml ships it (log.access_log = true, log.file = "": stderr),
#     its stderr redirected to a file;
#   - nginx as Debian configures it (sendfile on, tcp_nopush on, keepalive_timeout 65,
#     keepalive_requests 1000, the default), no open_file_cache, Content-Type text/html;
#   - ROUNDS rounds in the order A B C D, then D C B A, ...: every target's mean position in time
#     is the same, so a linear drift of the shared machine falls on all alike. The figures are
#     the means over the rounds.
# nginx runs as root here (user root; in its private config) because the temp folder is the
# caller's only; it is Debian's /usr/sbin/nginx with its own prefix, config, logs and pid file
# in a temp folder, on a free port of 127.0.0.1. Everything is removed at the end.
#
# Environment (defaults in brackets):
#   DURATION [5]      seconds of wrk per target and round    ROUNDS [2]       rounds (even is best)
#   THREADS [2]       wrk threads                            CONNECTIONS [64] keep-alive connections
#   BUILD_DIR [build] SKIP_BUILD [0]                         NGINX [/usr/sbin/nginx]
#   SUMMARY []        a file to append "figure<TAB>value" lines to (bench/run_all.sh reads them)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/wrk.sh
source bench/lib/wrk.sh
# shellcheck source=bench/lib/nidan.sh
source bench/lib/nidan.sh

duration=${DURATION:-5}
rounds=${ROUNDS:-2}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
build_dir=${BUILD_DIR:-build}
nginx_bin=${NGINX:-/usr/sbin/nginx}
for v in "$duration" "$rounds" "$threads" "$connections"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "http_vs_nginx: DURATION, ROUNDS, THREADS and CONNECTIONS are positive integers" >&2; exit 2; }
done
((duration <= 120 && rounds <= 10)) || { echo "http_vs_nginx: DURATION is at most 120, ROUNDS at most 10" >&2; exit 2; }
[[ ${SKIP_BUILD:-0} == 1 ]] || BUILD_DIR=$build_dir scripts/build.sh
nidan=$build_dir/nidan
[[ -x $nidan ]] || { echo "http_vs_nginx: $nidan not found (build first, or unset SKIP_BUILD)" >&2; exit 1; }
# Debian's nginx-light: the same nginx 1.22 binary as the nginx package, fewer modules.
[[ -n ${NGINX:-} ]] || apt_ensure "$nginx_bin" nginx-light
[[ -x $nginx_bin ]] || { echo "http_vs_nginx: $nginx_bin not found (apt-get install nginx-light)" >&2; exit 1; }
wrk_ensure

tmp=$(mktemp -d)
nginx_pid=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  nidan_stop_all
  if [[ -n $nginx_pid ]] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

io_threads=$(sed -n 's/^io_threads *= *\([0-9]*\).*/\1/p' conf/nidan.toml | head -n 1)
login_path=$(sed -n 's/^login_path *= *"\([^"]*\)".*/\1/p' conf/nidan.toml | head -n 1)
[[ -n $io_threads && -n $login_path ]] || { echo "http_vs_nginx: no io_threads or login_path in conf/nidan.toml" >&2; exit 1; }

nidan_start nidan
nidan_url=$base_url
nidan_server=$server_pid

# The page's bytes, once: the form token in it differs per request, its length does not.
mkdir -p "$tmp/www" "$tmp/nginx/logs"
curl -sf -o "$tmp/www/login.html" "$nidan_url$login_path" || { echo "http_vs_nginx: GET $login_path failed" >&2; exit 1; }
page_bytes=$(stat -c %s "$tmp/www/login.html")

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_url=
for _ in 1 2 3 4 5; do
  port=$(free_port)
  cat >"$tmp/nginx/nginx.conf" <<CONF
user root;
worker_processes $io_threads;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  types { text/html html; }
  default_type application/octet-stream;
  access_log $tmp/nginx/logs/access.log;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    root $tmp/www;
    location = /login { default_type text/html; try_files /login.html =404; }
  }
}
CONF
  "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" >"$tmp/nginx/stdout" 2>&1 &
  nginx_pid=$!
  for _ in $(seq 50); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/login"; then nginx_url="http://127.0.0.1:$port"; break; fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $nginx_url ]] && break
  kill -KILL "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=
done
[[ -n $nginx_url ]] || { echo "http_vs_nginx: nginx did not start: $(tail -3 "$tmp/nginx/logs/error.log" 2>/dev/null)" >&2; exit 1; }
served_bytes=$(curl -s "$nginx_url/login" | wc -c)
served_type=$(curl -s -o /dev/null -w '%{content_type}' "$nginx_url/login")

names=(nginx login healthz verify)
declare -A url=([nginx]="$nginx_url/login" [login]="$nidan_url$login_path" [healthz]="$nidan_url/healthz" [verify]="$nidan_url/auth/verify")
declare -A label=([nginx]="nginx static file (the login page's bytes)" [login]="nidan login page $login_path"
                  [healthz]="nidan /healthz" [verify]="nidan /auth/verify (no session)")
declare -A sum_rps sum_p50 sum_p99 max_p99 non2xx errors
for n in "${names[@]}"; do sum_rps[$n]=0; sum_p50[$n]=0; sum_p99[$n]=0; max_p99[$n]=0; non2xx[$n]=0; errors[$n]=0; done

echo "wrk -t$threads -c$connections --latency, ${duration}s per target, $rounds rounds; nginx $("$nginx_bin" -v 2>&1 | sed 's/.*\///')" \
  "worker_processes $io_threads, nidan io_threads $io_threads; $(nproc) cores shared with wrk" >&2
echo "page: $page_bytes bytes from nidan; nginx serves $served_bytes bytes as $served_type" >&2
for ((r = 0; r < rounds; r++)); do
  order=("${names[@]}")
  if ((r % 2 == 1)); then order=(verify healthz login nginx); fi
  for n in "${order[@]}"; do
    wrk_run "$duration" "$threads" "$connections" "${url[$n]}"
    printf '  round %d %-44s %10s req/s  p50 %6s ms  p99 %6s ms\n' $((r + 1)) "${label[$n]}" "$wrk_rps" "$wrk_p50" "$wrk_p99" >&2
    sum_rps[$n]=$(awk -v a="${sum_rps[$n]}" -v b="$wrk_rps" 'BEGIN { print a + b }')
    sum_p50[$n]=$(awk -v a="${sum_p50[$n]}" -v b="$wrk_p50" 'BEGIN { print a + b }')
    sum_p99[$n]=$(awk -v a="${sum_p99[$n]}" -v b="$wrk_p99" 'BEGIN { print a + b }')
    max_p99[$n]=$(awk -v a="${max_p99[$n]}" -v b="$wrk_p99" 'BEGIN { print (b > a ? b : a) }')
    non2xx[$n]=$((non2xx[$n] + wrk_non2xx))
    errors[$n]=$((errors[$n] + wrk_errors))
  done
done

nidan_rc=0
nidan_stop "$nidan_server" || nidan_rc=$?
access_lines_nidan=$(grep -c 'event=http.request' "$tmp/nidan/stderr" || true)
access_lines_nginx=$(wc -l <"$tmp/nginx/logs/access.log")

echo
printf '%-44s %11s %8s %8s %9s %8s %6s %9s %9s\n' target req/s p50_ms p99_ms p99_max non-2xx errors "rps/nginx" "p99/nginx"
for n in "${names[@]}"; do
  awk -v l="${label[$n]}" -v s="${sum_rps[$n]}" -v p5="${sum_p50[$n]}" -v p9="${sum_p99[$n]}" -v m="${max_p99[$n]}" \
    -v x="${non2xx[$n]}" -v e="${errors[$n]}" -v r="$rounds" -v ns="${sum_rps[nginx]}" -v n9="${sum_p99[nginx]}" 'BEGIN {
      printf "%-44s %11.0f %8.2f %8.2f %9.2f %8d %6d %9.2f %9.2f\n", l, s / r, p5 / r, p9 / r, m, x, e,
        (ns > 0 ? s / ns : 0), (n9 > 0 ? p9 / n9 : 0) }'
done
echo
echo "access log lines: nidan $access_lines_nidan (stderr to a file), nginx $access_lines_nginx (combined format to a file)"
echo "nidan exit code after SIGTERM: $nidan_rc"
if [[ -n ${SUMMARY:-} ]]; then
  {
    for n in login healthz verify; do
      awk -v n="$n" -v s="${sum_rps[$n]}" -v ns="${sum_rps[nginx]}" -v p9="${sum_p99[$n]}" -v n9="${sum_p99[nginx]}" -v r="$rounds" 'BEGIN {
        printf "nginx.%s.rps\t%.0f\nnginx.%s.rps_ratio\t%.2f\nnginx.%s.p99_ms\t%.2f\nnginx.%s.p99_ratio\t%.2f\n",
          n, s / r, n, (ns > 0 ? s / ns : 0), n, p9 / r, n, (n9 > 0 ? p9 / n9 : 0) }'
    done
    awk -v s="${sum_rps[nginx]}" -v p9="${sum_p99[nginx]}" -v r="$rounds" 'BEGIN { printf "nginx.nginx.rps\t%.0f\nnginx.nginx.p99_ms\t%.2f\n", s / r, p9 / r }'
  } >>"$SUMMARY"
fi
[[ $nidan_rc == 0 ]]
