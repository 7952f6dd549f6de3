package llmfeedback_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const modulePath = "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"

// appMain is the smallest app a user writes against this module.
const appMain = `package main

import (
	"context"
	"fmt"

	llmfeedback "` + modulePath + `"
)

func main() {
	err := llmfeedback.Record(context.Background(), "5b8efff798038103d269b633813fc60c", nil)
	fmt.Println(err)
}
`

// TestUseFromCheckout follows the README's "Install from a checkout" steps
// in a new module: a replace directive to this directory, go mod tidy, go
// build, and runs the program. The new module's go.sum starts as a copy of
// this module's, so with -mod=mod the go command finds every dependency in
// the module cache that building these tests filled, and asks neither the
// module proxy nor the checksum database.
func TestUseFromCheckout(t *testing.T) {
	checkout, err := filepath.Abs(".")
	require.NoError(t, err)
	app := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(app, "go.mod"), []byte("module example.com/chatapp\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(app, "main.go"), []byte(appMain), 0o644))
	sum, err := os.ReadFile("go.sum")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(app, "go.sum"), sum, 0o644))

	env := append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = app, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
		return string(out)
	}
	run("go", "mod", "edit", "-replace", modulePath+"="+checkout)
	run("go", "mod", "tidy")
	run("go", "build", "-o", "chatapp", ".")

	gomod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(gomod), "require "+modulePath+" v0.0.0-00010101000000-000000000000")
	require.Equal(t, "llmfeedback: invalid argument: rating is nil; it is required (a string, integer, float or bool)\n",
		run(filepath.Join(app, "chatapp")))
}
