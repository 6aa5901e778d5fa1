#!/usr/bin/env bash
# Builds what login_load.sh and backends.sh run (nidan, bench_login_load, bench_idle_connections) into the folder given
# (RelWithDebInfo with Ninja when it is configured here first; BUILD_TYPE and JOBS override).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$1
if [[ -f $build_dir/CMakeCache.txt ]]; then
  cmake -S . -B "$build_dir" >/dev/null
else
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
fi
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target nidan bench_login_load bench_idle_connections
