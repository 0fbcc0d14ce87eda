#!/bin/sh
# Runs the benchmarks behind `make bench` and prints them as a table: each figure beside
# its baseline from the same run (sibling sub-benchmarks), since this machine is shared and
# absolute numbers are noisy. Raw output goes to $OUT (default .run/bench.txt).
set -eu
OUT=${OUT:-.run/bench.txt}
mkdir -p "$(dirname "$OUT")"
: > "$OUT"
run() { # package, benchmark regexp, benchtime
	echo "== go test -run '^\$' -bench '$2' -benchtime $3 $1" | tee -a "$OUT"
	go test -run '^$' -bench "$2" -benchtime "$3" -timeout 30m "$1" | tee -a "$OUT"
}
run ./cmd/camsim 'FleetStartup|LiveStreams' 1x
for pkg in $(go list ./... ); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	[ "$pkg" = "github.com/opencamcloud/camcloud/cmd/camsim" ] && continue
	if grep -lq '^func Benchmark' "$dir"/*_test.go 2>/dev/null; then
		run "$pkg" . "${BENCHTIME:-2s}"
	fi
done
echo
echo "Table (raw output in $OUT):"
go run ./internal/benchtable < "$OUT"
