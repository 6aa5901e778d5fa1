#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, and runs
# every test (unit and integration) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build-test} scripts/build.sh -DNIDAN_WERROR=ON
ctest --test-dir "${BUILD_DIR:-build-test}" --output-on-failure --timeout 900 -j "${JOBS:-2}"
