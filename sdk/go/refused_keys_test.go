package llmfeedback

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RecordKey refuses exactly the names the processor's join::keys refuses:
// every name and prefix of the list the processor's config test checks
// join::keys against (testdata/refused_join_keys.txt at the repository's
// root), and nothing by name that the list misses.
func TestRecordKeyRefusesWhatJoinKeysRefuses(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "refused_join_keys.txt"))
	require.NoError(t, err)
	var names, prefixes []string
	for _, line := range strings.Split(string(raw), "\n") {
		switch line = strings.TrimSpace(line); {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasSuffix(line, "*"):
			prefixes = append(prefixes, strings.TrimSuffix(line, "*"))
		default:
			names = append(names, line)
		}
	}
	for _, name := range names {
		assert.Error(t, checkKeyName(name), "RecordKey accepts %q, which join::keys refuses", name)
	}
	for _, p := range prefixes {
		assert.Error(t, checkKeyName(p+"anything"), "RecordKey accepts %q, under the refused prefix %q", p+"anything", p+"*")
	}
	for name := range builtinKeys {
		assert.Contains(t, names, name, "RecordKey refuses %q, which join::keys accepts", name)
	}
	assert.ElementsMatch(t, prefixes, outputPrefixes)
	assert.NoError(t, checkKeyName("app.message_id"))
}
