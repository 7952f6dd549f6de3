#!/usr/bin/env bash
# What a contrib reviewer runs, over every module of the repository (root,
# sdk/go, cmd/demo): gofmt, goimports (this module's imports grouped last, as
# contrib groups its own), go vet and staticcheck. The tools are pinned in
# internal/tools/go.mod and run with `go tool`; nothing needs installing.
# Generated files (mdatagen's) are checked by gofmt only: they are rewritten by
# `make generate`, never by hand. `make fmt` fixes what the first two find.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
tool=("$GO" tool -modfile="$PWD/internal/tools/go.mod")
local_prefix=github.com/llm-feedback/llmfeedbackprocessor
modules=(. sdk/go cmd/demo)

mapfile -t files < <(find . -name '*.go' -not -path './_build/*' -not -path '*/node_modules/*' | sort)
mapfile -t handwritten < <(grep -L '^// Code generated .* DO NOT EDIT\.$' "${files[@]}")

failed=0
report() { # name, output of a -l run
	if [[ -n $2 ]]; then
		echo "lint: $1 would change these files (make fmt fixes them):"
		echo "$2"
		failed=1
	fi
}
report gofmt "$("$("$GO" env GOROOT)/bin/gofmt" -l "${files[@]}")"
report goimports "$("${tool[@]}" goimports -local "$local_prefix" -l "${handwritten[@]}")"

for m in "${modules[@]}"; do
	echo "lint: go vet and staticcheck in $m"
	(cd "$m" && "$GO" vet ./... && "${tool[@]}" staticcheck ./...) || failed=1
done

if ((failed)); then
	echo "lint: FAILED"
	exit 1
fi
echo "lint: gofmt, goimports, go vet and staticcheck clean in ${modules[*]}"
