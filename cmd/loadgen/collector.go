package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// configTemplate is the same collector with and without llm_feedback: OTLP
// gRPC in, spans to nop, logs to a JSON-lines file (only feedback is sent on
// logs, so that is cheap). The pipelines are synchronous, so the spans the
// receiver accepted are the spans the nop exporter took (nop has no
// exporterhelper, hence no otelcol_exporter_sent_spans; and the
// telemetry.newPipelineTelemetry gate that would count them makes the
// Prometheus endpoint fail with duplicate series in v0.161.0).
const configTemplate = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.GRPC}}
        max_recv_msg_size_mib: 64
{{- if .With}}
processors:
  llm_feedback:
    pending:
      ttl: {{.PendingTTL}}
{{- end}}
exporters:
  nop:
  file/feedback:
    path: {{.Dir}}/feedback.jsonl
    flush_interval: 100ms
service:
  telemetry:
    logs:
      level: info
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.Metrics}}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [{{if .With}}llm_feedback{{end}}]
      exporters: [nop]
    logs:
      receivers: [otlp]
      processors: [{{if .With}}llm_feedback{{end}}]
      exporters: [file/feedback]
`

type collector struct {
	GRPC, Metrics int
	Dir           string
	With          bool
	PendingTTL    time.Duration

	cmd    *exec.Cmd
	out    *os.File
	done   chan struct{}
	client *http.Client
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startCollector writes the config into dir and starts bin, pinned to cpus
// when given, with GOMAXPROCS set when gomaxprocs > 0, and waits until it is
// ready.
func startCollector(bin, dir string, with bool, pendingTTL time.Duration, cpus string, gomaxprocs int) (*collector, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &collector{Dir: dir, With: with, PendingTTL: pendingTTL, client: &http.Client{Timeout: 10 * time.Second}}
	var err error
	if c.GRPC, err = freePort(); err != nil {
		return nil, err
	}
	if c.Metrics, err = freePort(); err != nil {
		return nil, err
	}
	var cfg bytes.Buffer
	if err := template.Must(template.New("config").Parse(configTemplate)).Execute(&cfg, c); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, cfg.Bytes(), 0o600); err != nil {
		return nil, err
	}
	args := []string{"--config", path}
	name := bin
	if cpus != "" {
		// taskset execs the collector: the pid stays the collector's.
		args = append([]string{"-c", cpus, bin}, args...)
		name = "taskset"
	}
	if c.out, err = os.Create(filepath.Join(dir, "collector.log")); err != nil {
		return nil, err
	}
	c.cmd = exec.Command(name, args...)
	if gomaxprocs > 0 {
		c.cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.Dir = dir
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return nil, fmt.Errorf("collector exited during start:\n%s", c.output())
		default:
		}
		if strings.Contains(c.output(), "Everything is ready") {
			return c, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop(syscall.SIGKILL)
	return nil, fmt.Errorf("collector not ready in 60s:\n%s", c.output())
}

func (c *collector) output() string {
	b, _ := os.ReadFile(c.out.Name())
	return string(b)
}

// stop signals the collector and waits for it to exit (SIGKILL after 30s).
func (c *collector) stop(sig syscall.Signal) error {
	defer c.out.Close()
	select {
	case <-c.done:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("collector did not stop within 30s of %v; killed", sig)
	}
}

// metric sums the samples of a Prometheus metric whose line starts with
// name and contains every one of labels.
func (c *collector) metric(name string, labels ...string) (float64, bool, error) {
	resp, err := c.client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.Metrics))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

// saveMetrics writes the collector's whole Prometheus page to dir/metrics.txt.
func (c *collector) saveMetrics() {
	resp, err := c.client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.Metrics))
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	_ = os.WriteFile(filepath.Join(c.Dir, "metrics.txt"), buf.Bytes(), 0o644)
}

// exportedSpans is what went through the traces pipeline to the exporter:
// what the receiver accepted, as the pipeline is synchronous.
func (c *collector) exportedSpans() (float64, string, error) {
	const name = "otelcol_receiver_accepted_spans"
	v, ok, err := c.metric(name, `transport="grpc"`)
	if err == nil && !ok {
		err = fmt.Errorf("no %s on the collector's metrics endpoint", name)
	}
	return v, name, err
}

// procStatus reads a kB field of /proc/<pid>/status, in bytes.
func (c *collector) procStatus(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// cpuTime is the collector's user+system CPU time so far.
func (c *collector) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck
}
