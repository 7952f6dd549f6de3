package testcollector

import (
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/confmap"
)

// kinds are the component sections of a collector config, each named for
// its kind with an s added.
var kinds = []string{"receiver", "processor", "exporter", "connector", "extension"}

// build is what `BIN components` says about one collector binary.
type build struct {
	has  map[string]bool // "kind:type"
	core string          // the otlp receiver's version: the core release
}

var builds sync.Map // bin -> *build

func componentsOf(t testing.TB, bin string) *build {
	t.Helper()
	if b, ok := builds.Load(bin); ok {
		return b.(*build)
	}
	out, err := exec.Command(bin, "components").Output()
	if err != nil {
		t.Fatalf("%s components: %v", bin, err)
	}
	raw := rawYAML(t, bin+" components", out)
	b := &build{has: map[string]bool{}}
	for _, kind := range kinds {
		list, _ := raw[kind+"s"].([]any)
		for _, c := range list {
			m, _ := c.(map[string]any)
			name, _ := m["name"].(string)
			b.has[kind+":"+name] = true
			module, _ := m["module"].(string)
			if kind == "receiver" && name == "otlp" {
				_, b.core, _ = strings.Cut(module, " ")
			}
		}
	}
	builds.Store(bin, b)
	return b
}

// uses lists the components ("kind:type") that a config defines.
func uses(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawYAML(t, path, data)
	var out []string
	for _, kind := range kinds {
		section, _ := raw[kind+"s"].(map[string]any)
		for id := range section {
			typ, _, _ := strings.Cut(id, "/")
			out = append(out, kind+":"+typ)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func rawYAML(t testing.TB, what string, data []byte) map[string]any {
	t.Helper()
	r, err := confmap.NewRetrievedFromYAML(data)
	if err == nil {
		var raw any
		if raw, err = r.AsRaw(); err == nil {
			m, _ := raw.(map[string]any)
			return m
		}
	}
	t.Fatalf("%s: %v", what, err)
	return nil
}

// RequireComponents checks that bin was built with every component the
// config at path uses. A component it lacks fails the test, unless
// $OTELCOL_MISSING lists it (kind:type, space-separated): `make test` sets
// that for a build at a release the module proxy serves no build of the
// component for. Then the test is skipped, saying which component and why.
func RequireComponents(t testing.TB, bin, path string) {
	t.Helper()
	b := componentsOf(t, bin)
	leftOut := strings.Fields(os.Getenv("OTELCOL_MISSING"))
	var missing []string
	for _, c := range uses(t, path) {
		if b.has[c] {
			continue
		}
		if !slices.Contains(leftOut, c) {
			t.Fatalf("%s uses %s, which %s (collector %s) was not built with", path, c, bin, b.core)
		}
		missing = append(missing, c)
	}
	if len(missing) > 0 {
		them := "them"
		if len(missing) == 1 {
			them = "it"
		}
		t.Skipf("SKIPPED at collector %s: %s uses %s, left out of this build because the module proxy "+
			"serves no build of %s at %s (OTELCOL_MISSING in the Makefile)",
			b.core, path, strings.Join(missing, ", "), them, b.core)
	}
}
