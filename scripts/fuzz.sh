#!/usr/bin/env bash
# Runs the fuzz targets (tests/fuzz_*.rs, proptest) for longer than CI does: every target
# gets CASES generated inputs (default 20000) in a release-optimised test build.
# Not part of CI's time budget. A failure prints the shrunk input; keep it as a named
# regression test next to the targets.
#
#   scripts/fuzz.sh               all targets, 20000 cases each
#   CASES=100000 scripts/fuzz.sh  longer
#   scripts/fuzz.sh fuzz_xml      one file
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${CASES:-20000}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_xml fuzz_config fuzz_parsers)
status=0
for t in "${targets[@]}"; do
  echo "fuzz: $t, $cases cases per target"
  start=$(date +%s)
  if ! PROPTEST_CASES="$cases" cargo test --release --test "$t" -- --test-threads=2; then
    status=1
  fi
  echo "fuzz: $t took $(( $(date +%s) - start )) s"
done
exit "$status"
