package testcollector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Binary returns the collector to run: $OTELCOL_BIN, which `make test` sets.
// Tests skip when it is unset, so `go test ./...` alone runs the unit tests.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_BIN")
	if bin == "" {
		t.Skip("OTELCOL_BIN is not set; `make test` builds the collector and sets it")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("OTELCOL_BIN=%s: %v", bin, err)
	}
	return bin
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Ports are what a config template can use.
type Ports struct {
	GRPC, HTTP, Metrics int
	// Dir is a directory the collector may write to (storage).
	Dir string
	// SinkURL is where SinkExporter sends: the Collector's Sink.
	SinkURL string
	// Extra holds test-specific values.
	Extra map[string]any
}

// Collector is one running collector process.
type Collector struct {
	Ports
	// Sink takes what the config's SinkExporter exports (New only).
	Sink   *Sink
	t      testing.TB
	bin    string
	config string
	// Env is added to the collector's environment; NewFromFile fills it with
	// the ports, for configs that read them with ${env:...}.
	Env []string
	// Args are added to the command line, after --config (for example
	// --set flags that change one setting of the config).
	Args   []string
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	client *http.Client
}

// Telemetry is a config fragment for the service section: the collector's
// own metrics in Prometheus form on the Metrics port, for Scrape and Sum.
// Use it as `{{template "telemetry" .}}` directly under `service:`.
const Telemetry = `  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.Metrics}}`

// New writes the config (a text/template over Ports, with the fragments
// Telemetry and SinkExporter) into dir and returns a collector ready to
// Start, with a Sink of its own. dir is kept across restarts of the same
// collector. A config that uses a component bin lacks fails or skips the test
// (RequireComponents).
func New(t testing.TB, bin, dir, configTemplate string, extra map[string]any) *Collector {
	t.Helper()
	sink := NewSink(t)
	p := Ports{GRPC: FreePort(t), HTTP: FreePort(t), Metrics: FreePort(t), Dir: dir, SinkURL: sink.URL, Extra: extra}
	tmpl, err := template.New("config").Parse(configTemplate)
	if err == nil {
		_, err = tmpl.New("telemetry").Parse(Telemetry)
	}
	if err == nil {
		_, err = tmpl.New("sink").Parse(SinkExporter)
	}
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", p.HTTP))
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	RequireComponents(t, bin, path)
	return &Collector{Ports: p, Sink: sink, t: t, bin: bin, config: path, client: &http.Client{Timeout: 10 * time.Second}}
}

// NewFromFile runs a config file as it is, giving it the ports and dir in
// the environment: OTLP_GRPC_PORT, OTLP_HTTP_PORT, METRICS_PORT, OUT_DIR,
// plus env. A config that uses a component bin lacks fails or skips the test
// (RequireComponents).
func NewFromFile(t testing.TB, bin, dir, path string, env map[string]string) *Collector {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	RequireComponents(t, bin, path)
	p := Ports{GRPC: FreePort(t), HTTP: FreePort(t), Metrics: FreePort(t), Dir: dir}
	c := &Collector{Ports: p, t: t, bin: bin, config: abs, client: &http.Client{Timeout: 10 * time.Second}}
	c.Env = []string{
		fmt.Sprintf("OTLP_GRPC_PORT=%d", p.GRPC), fmt.Sprintf("OTLP_HTTP_PORT=%d", p.HTTP),
		fmt.Sprintf("METRICS_PORT=%d", p.Metrics), "OUT_DIR=" + dir,
	}
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	return c
}

// Start runs the collector and waits until it reports it is ready.
func (c *Collector) Start() {
	c.t.Helper()
	c.out = &syncBuffer{}
	c.cmd = exec.Command(c.bin, append([]string{"--config", c.config}, c.Args...)...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.Dir = c.Dir
	c.cmd.Env = append(os.Environ(), c.Env...)
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	c.t.Cleanup(func() { c.Stop(syscall.SIGKILL) })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			c.t.Fatalf("collector exited during start:\n%s", c.Output())
		default:
		}
		if strings.Contains(c.Output(), "Everything is ready") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("collector did not start in 60s:\n%s", c.Output())
}

// Stop sends sig and waits for the process to end (at most 30s).
func (c *Collector) Stop(sig syscall.Signal) {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Output is everything the collector printed so far.
func (c *Collector) Output() string { return c.out.String() }

// SendTraces exports td over OTLP/HTTP protobuf.
func (c *Collector) SendTraces(td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	return c.post("/v1/traces", body)
}

// SendLogs exports ld over OTLP/HTTP protobuf.
func (c *Collector) SendLogs(ld plog.Logs) error {
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return err
	}
	return c.post("/v1/logs", body)
}

func (c *Collector) post(path string, body []byte) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
		fmt.Sprintf("http://127.0.0.1:%d%s", c.HTTP, path), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
	}
	return nil
}

// Scrape scrapes the collector's own Prometheus endpoint and returns the
// lines that start with prefix.
func (c *Collector) Scrape(prefix string) ([]string, error) {
	resp, err := c.client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.Metrics))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

// ReadLogsFile decodes a file exporter's JSON lines. A missing file is empty.
func ReadLogsFile(path string) ([]plog.Logs, error) {
	var u plog.JSONUnmarshaler
	return readLines(path, u.UnmarshalLogs)
}

// ReadTracesFile decodes a file exporter's JSON lines of traces.
func ReadTracesFile(path string) ([]ptrace.Traces, error) {
	var u ptrace.JSONUnmarshaler
	return readLines(path, u.UnmarshalTraces)
}

func readLines[T any](path string, decode func([]byte) (T, error)) ([]T, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []T
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		v, err := decode(line)
		if err != nil {
			// The exporter may be mid-write; the caller polls again.
			return out, fmt.Errorf("partial line in %s: %w", path, err)
		}
		out = append(out, v)
	}
	return out, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Sum adds up the values of every sample of a metric, across its labels; 0
// when the metric is not exported yet.
func (c *Collector) Sum(name string) float64 {
	lines, err := c.Scrape(name)
	if err != nil {
		return 0
	}
	total := 0.0
	for _, l := range lines {
		if !strings.HasPrefix(l, name+" ") && !strings.HasPrefix(l, name+"{") {
			continue
		}
		fields := strings.Fields(l)
		var v float64
		if _, err := fmt.Sscan(fields[len(fields)-1], &v); err == nil {
			total += v
		}
	}
	return total
}
