#!/usr/bin/env bash
# run.sh: the browser tests of the portal: installs their npm packages when missing or
# stale (npm ci, exact versions from package-lock.json), then runs them with Node's
# test runner. Exit 77 (skipped) when Debian's chromium is not installed.
set -euo pipefail
cd "$(dirname "$0")"

chromium="${TP_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "e2e: $chromium not found: skipped (deploy/install-deps.sh installs the package chromium)" >&2
  exit 77
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec node --test --test-concurrency=1 portal.test.js
