#!/usr/bin/env bash
# scripts/gotest.sh NAME [go test flags and packages]: runs go test in the
# current directory through gotestsum (a tool of kcovlab's go.mod) with the
# output of `go test -v`, keeps that output in $TESTLOGS/NAME.log and the go
# test -json events in $TESTLOGS/NAME.json (TESTLOGS defaults to
# results/test-logs), then ends with internal/testsum's summary: each failed
# test by package and name with its last 40 lines, and the totals. It exits
# with go test's exit code. The Makefile's test targets run it.
set -uo pipefail
if [ $# -lt 1 ]; then
	echo "usage: $0 NAME [go test flags] [packages]" >&2
	exit 2
fi
name=$1
shift
go=${GO:-go}
root=$(cd "$(dirname "$0")/.." && pwd)
logs=${TESTLOGS:-results/test-logs}
mkdir -p "$logs" || exit 1
logs=$(cd "$logs" && pwd)
json=$logs/$name.json
log=$logs/$name.log
# go tool -n builds the tool (once, then cached) and prints its path, so the
# tests can run in another module (scripts/gotest_test.sh does).
gotestsum=$("$go" -C "$root" tool -n gotestsum) || exit 1
echo "gotest: go test $* (full output also in $log)"
# --hide-summary=all: testsum writes the summary, with each failure's tail.
# GOTESTFORMAT=pkgname-and-test-fails: a line a package, and failed tests' output.
"$gotestsum" --format "${GOTESTFORMAT:-standard-verbose}" --hide-summary=all --jsonfile "$json" -- "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
"$go" -C "$root" run ./internal/testsum -name "go test ($name)" -json "$json" -log "$log" -exit "$rc" ||
	echo "gotest: no summary (see $log); go test exited $rc"
exit "$rc"
