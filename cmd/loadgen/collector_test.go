package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeCollector writes a script that stands in for the collector: it fails
// to bind a port the first `fails` times it runs, then reports ready and
// waits to be stopped.
func fakeCollector(t *testing.T, fails int) (bin string, runs func() int) {
	t.Helper()
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	bin = filepath.Join(dir, "otelcol")
	script := `#!/bin/sh
echo x >> ` + count + `
if [ "$(wc -l < ` + count + `)" -le ` + strconv.Itoa(fails) + ` ]; then
	echo "Error: failed to start extensions: listen tcp 127.0.0.1:1: bind: address already in use"
	exit 1
fi
echo "Everything is ready. Begin running and processing data."
trap 'exit 0' TERM
while :; do sleep 0.05; done
`
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin, func() int {
		b, err := os.ReadFile(count)
		require.NoError(t, err)
		return strings.Count(string(b), "\n")
	}
}

func TestStartCollectorRetriesATakenPort(t *testing.T) {
	bin, runs := fakeCollector(t, portTries-1)
	c, err := startCollector(bin, t.TempDir(), "none", options{memLimitMiB: 64, gogc: "off"})
	require.NoError(t, err)
	require.NoError(t, c.stop(syscall.SIGTERM))
	require.Equal(t, portTries, runs())
}

func TestStartCollectorGivesUpAfterPortTries(t *testing.T) {
	bin, runs := fakeCollector(t, portTries)
	_, err := startCollector(bin, t.TempDir(), "none", options{memLimitMiB: 64, gogc: "off"})
	require.ErrorContains(t, err, "address already in use")
	require.Equal(t, portTries, runs())
}
