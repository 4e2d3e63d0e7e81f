#!/usr/bin/env bash
# Closes `make test` with what XCTest ran: every skipped test with its reason (grouped), then one
# plain line "tests: N passed, N failed, N skipped" that CI reads as the run's result.
# Usage: test_summary.sh LOG EXIT_STATUS   (LOG: the full output of `swift test`)
set -u
log=$1; status=$2
summary=$(grep -E '^[[:space:]]*Executed [0-9]+ tests?, ' "$log" | tail -n 1)
if [ -z "$summary" ]; then
  echo "make test: swift test printed no XCTest summary (exit $status)"
  exit "$status"
fi
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
skipped=$(grep -oE 'with [0-9]+ tests? skipped' <<<"$summary" | grep -oE '[0-9]+' || true)
failed=$(grep -oE '[0-9]+ failures?' <<<"$summary" | head -n 1 | grep -oE '[0-9]+')
skipped=${skipped:-0}
if [ "$skipped" -gt 0 ]; then
  echo
  echo "Skipped tests, by reason:"
  grep -E ' : Test skipped - ' "$log" | sed -E 's/.* : Test skipped - //' | sort | uniq -c | sort -rn
fi
echo
echo "tests: $((executed - skipped - failed)) passed, $failed failed, $skipped skipped"
exit "$status"
