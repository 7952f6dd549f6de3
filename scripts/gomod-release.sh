#!/usr/bin/env bash
# Writes OUT (a go.mod, with its go.sum beside it) that is the root module's
# go.mod with every collector module raised to another release, so that
# `go test -modfile=OUT ./...` runs the unit, golden and end-to-end tests
# against that release while go.mod keeps the pinned one:
#
#   scripts/gomod-release.sh _build/gomod-v0165/go.mod v0.165.0 v1.71.0 v0.165.1
#                            OUT                       core     stable  contrib
#
# The direct requirements are raised with `go get`, then `go mod tidy` brings
# the indirect ones to what that release needs (some it no longer has). Fails
# when a collector module in the result is not at the release asked for: a
# test run must not mix two releases.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=$1 core=$2 stable=$3 contrib=$4

mkdir -p "$(dirname "$out")"
cp go.mod "$out"
cp go.sum "${out%.mod}.sum"

# Collector modules: core's v1.x ones are the stable line, the v0.x ones core's.
release_of() { # path version
	case $1 in
	github.com/open-telemetry/opentelemetry-collector-contrib/*) echo "$contrib" ;;
	go.opentelemetry.io/collector/*) if [[ $2 == v1.* ]]; then echo "$stable"; else echo "$core"; fi ;;
	esac
}

mapfile -t direct < <("$GO" list -modfile="$out" -m -f '{{if not .Indirect}}{{.Path}} {{.Version}}{{end}}' all)
raise=()
for line in "${direct[@]}"; do
	read -r path version <<<"$line"
	[[ -n ${version:-} ]] || continue # the main module
	to=$(release_of "$path" "$version")
	[[ -n $to ]] && raise+=("$path@$to")
done
echo "gomod-release: $out with ${raise[*]}"
"$GO" get -modfile="$out" "${raise[@]}"
"$GO" mod tidy -modfile="$out"

mixed=()
while read -r path version; do
	to=$(release_of "$path" "$version")
	if [[ -n $to && $version != "$to" ]]; then
		mixed+=("$path@$version")
	fi
done < <("$GO" list -modfile="$out" -m -f '{{.Path}} {{.Version}}' all)
if ((${#mixed[@]})); then
	echo "gomod-release: not at $core / $stable / $contrib: ${mixed[*]}" >&2
	exit 1
fi
