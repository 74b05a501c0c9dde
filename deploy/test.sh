#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test suite.
# Ends with one line "N passed, N failed[, N skipped]"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }
if ! bash deploy/build.sh; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# every suite but the benchmarks (meson test -C build --benchmark, docs/PERFORMANCE.md)
meson test -C build --print-errorlogs --num-processes 2 "$@"
rc=$?

log=build/meson-logs/testlog.json
if [ -f "$log" ]; then
  python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
tail = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{tail}")
PY
else
  echo "0 passed, 1 failed"
  rc=1
fi
exit $rc
