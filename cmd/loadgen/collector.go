package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
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

// configTemplate is the same collector in every mode: OTLP gRPC in, a
// memory_limiter first in both pipelines, spans to nop, logs to a JSON-lines
// file (only feedback is sent on logs, so that is cheap); the mode's
// processor, if any, after the memory_limiter. The spans the receiver
// accepted are what the pipeline took in: llm_feedback passes them on before
// its call returns; tail_sampling and groupbytrace hold them for HoldFor and
// then pass them on, as many a second as they take in once warm. (nop has no
// exporterhelper, hence no otelcol_exporter_sent_spans; and the
// telemetry.newPipelineTelemetry gate that would count them makes the
// Prometheus endpoint fail with duplicate series in v0.161.0.) groupbytrace
// keeps its default num_traces, 1,000,000: at 100,000, like the others, more
// traces reached it in its 30 s wait than it holds, and once full it stopped
// taking spans and did not stop when told (3 of 4 runs).
const configTemplate = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.GRPC}}
        max_recv_msg_size_mib: 64
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: {{.MemoryLimitMiB}}
{{- if eq .Mode "llm_feedback"}}
  llm_feedback:
    cache:
      max_traces: {{.MaxTraces}}
    pending:
      ttl: {{.PendingTTL}}
{{- else if eq .Mode "tail_sampling"}}
  tail_sampling:
    decision_wait: {{.HoldFor}}
    num_traces: {{.MaxTraces}}
    policies:
      - name: keep-all
        type: always_sample
{{- else if eq .Mode "groupbytrace"}}
  groupbytrace:
    wait_duration: {{.HoldFor}}
{{- end}}
extensions:
  pprof:
    endpoint: 127.0.0.1:{{.Pprof}}
exporters:
  nop:
  file/feedback:
    path: {{.Dir}}/feedback.jsonl
    flush_interval: 100ms
service:
  extensions: [pprof]
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
      processors: [memory_limiter{{if ne .Mode "none"}}, {{.Mode}}{{end}}]
      exporters: [nop]
    logs:
      receivers: [otlp]
      processors: [memory_limiter{{if eq .Mode "llm_feedback"}}, llm_feedback{{end}}]
      exporters: [file/feedback]
`

type collector struct {
	GRPC, Metrics  int
	Pprof          int
	Dir            string
	Mode           mode
	PendingTTL     time.Duration
	MaxTraces      int
	HoldFor        time.Duration
	MemoryLimitMiB int

	cmd     *exec.Cmd
	started time.Time
	out     *os.File
	done    chan struct{}
	exitErr error // how the process ended; set before done is closed
	client  *http.Client
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portTries is how many times startCollector picks ports afresh for a
// collector that could not bind one.
const portTries = 3

// startCollector writes the config of mode m into dir and starts bin under
// the options' memory budget, GOGC and GOMAXPROCS, pinned to their CPUs when
// given, with the Go runtime's GC trace on its stderr; and waits until it is
// ready. A port found free is free only until something else binds it (this
// process's own connections take ports from the same range), so a collector
// that exits because one of its ports is taken is started again on new ones.
func startCollector(bin, dir string, m mode, o options) (*collector, error) {
	for try := 1; ; try++ {
		c, err := startCollectorOnce(bin, dir, m, o)
		if err == nil || try == portTries || !strings.Contains(err.Error(), "address already in use") {
			return c, err
		}
		log.Printf("%-13s collector could not bind a port; starting it again on others (try %d of %d)", m, try+1, portTries)
	}
}

func startCollectorOnce(bin, dir string, m mode, o options) (*collector, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &collector{
		Dir: dir, Mode: m, PendingTTL: o.pendingTTL, MaxTraces: o.maxTraces, HoldFor: o.holdFor, MemoryLimitMiB: o.memLimitMiB,
		client: &http.Client{Timeout: 10 * time.Second},
	}
	var err error
	if c.GRPC, err = freePort(); err != nil {
		return nil, err
	}
	if c.Metrics, err = freePort(); err != nil {
		return nil, err
	}
	if c.Pprof, err = freePort(); err != nil {
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
	if o.cpus != "" {
		// taskset execs the collector: the pid stays the collector's.
		args = append([]string{"-c", o.cpus, bin}, args...)
		name = "taskset"
	}
	if c.out, err = os.Create(filepath.Join(dir, "collector.log")); err != nil {
		return nil, err
	}
	c.cmd = exec.Command(name, args...)
	c.cmd.Env = append(os.Environ(), "GOMEMLIMIT="+goMemLimit(o.memLimitMiB), "GOGC="+o.gogc, "GODEBUG=gctrace=1")
	if o.gomaxprocs > 0 {
		c.cmd.Env = append(c.cmd.Env, "GOMAXPROCS="+strconv.Itoa(o.gomaxprocs))
	}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.Dir = dir
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	c.done = make(chan struct{})
	go func() { c.exitErr = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			defer c.out.Close()
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
// Told to stop with SIGTERM, a collector that had exited already, or that
// exits with an error (a panic in Shutdown), fails the run.
func (c *collector) stop(sig syscall.Signal) error {
	defer c.out.Close()
	select {
	case <-c.done:
		return fmt.Errorf("collector exited before it was told to stop (%v):\n%s", c.exitErr, lastLines(c.output(), 20))
	default:
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
		if c.exitErr != nil && sig != syscall.SIGKILL {
			return fmt.Errorf("collector exited with %v after %v:\n%s", c.exitErr, sig, lastLines(c.output(), 20))
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("collector did not stop within 30s of %v; killed", sig)
	}
}

// lastLines is the end of s, at most n lines.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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

// collectGarbage runs a GC cycle in the collector (pprof's heap profile
// does, asked with gc=1), so that the GC trace shows the heap it keeps live
// however seldom the budget made it collect. Marking a heap of a gigabyte or
// more on a busy CPU takes a while, hence the long timeout.
func (c *collector) collectGarbage() error {
	client := http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", c.Pprof))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("pprof heap: %s", resp.Status)
	}
	return err
}

// cpuProfile writes a CPU profile of the collector over the next d to path.
func (c *collector) cpuProfile(d time.Duration, path string) error {
	client := http.Client{Timeout: d + time.Minute}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", c.Pprof, max(int(d.Seconds()), 1)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// procTimes is what /proc/<pid>/stat says the collector has spent so far.
type procTimes struct {
	user, system time.Duration
	minorFaults  int64 // page faults served without I/O: mostly memory touched for the first time
}

func (c *collector) procTimes() procTimes {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return procTimes{}
	}
	s := string(b)
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return procTimes{}
	}
	field := func(i int) int64 { n, _ := strconv.ParseInt(f[i], 10, 64); return n }
	const clkTck = 100 // USER_HZ on Linux
	return procTimes{
		user:        time.Duration(field(11)) * time.Second / clkTck,
		system:      time.Duration(field(12)) * time.Second / clkTck,
		minorFaults: field(7),
	}
}

// gcTrace is what the runtime's GC trace (GODEBUG=gctrace=1) in the
// collector's output says: lines such as "gc 7 @42.1s 3%: ..., 1590->1602->212
// MB, ...", the share of time spent in GC since start, then the heap at the
// start and end of the cycle and the heap it left live. With GOGC=off and
// GOMEMLIMIT every mode's RSS fills the budget; what a mode keeps shows in
// the heap each cycle leaves live.
type gcTrace struct {
	cycles   int
	first    time.Duration // when the first cycle started, since the collector did
	peakLive int64         // bytes
	lastLive int64         // bytes, left by the last cycle
	share    float64       // of the collector's time in GC, at the last cycle
}

func readGCTrace(output string) gcTrace {
	var t gcTrace
	for _, line := range strings.Split(output, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "gc" || !strings.HasSuffix(f[3], "%:") {
			continue
		}
		for _, part := range strings.Split(line, ", ") {
			heap, ok := strings.CutSuffix(part, " MB")
			sizes := strings.Split(heap, "->")
			if !ok || len(sizes) != 3 {
				continue
			}
			if live, err := strconv.ParseInt(sizes[2], 10, 64); err == nil {
				t.peakLive = max(t.peakLive, live<<20)
				t.lastLive = live << 20
				if t.cycles++; t.cycles == 1 {
					t.first, _ = time.ParseDuration(strings.TrimPrefix(f[2], "@"))
				}
				t.share, _ = strconv.ParseFloat(strings.TrimSuffix(f[3], "%:"), 64)
				t.share /= 100
			}
		}
	}
	return t
}
