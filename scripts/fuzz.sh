#!/bin/sh
# Runs every fuzz target in the module for a short time each (the committed seed corpus
# under testdata/fuzz always runs as part of `go test`; this adds a brief random search).
set -eu
fuzztime=${1:-4s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r file; do
	dir=$(dirname "$file")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz $dir $name ($fuzztime)"
		go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$dir"
	done
done
