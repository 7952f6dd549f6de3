package chaos

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// configTemplate is one incarnation of the collector. The logs pipeline is
// synchronous end to end: the exporter's queue waits for the backend's
// answer (wait_for_result), so a batch the receiver acknowledged has either
// reached the backend or is held by llm_feedback, in storage. Then anything
// missing at the end was lost by llm_feedback, not by an in-memory queue
// that a SIGKILL empties. The exporter retries refusals for a short while
// and then refuses the batch to the client, which sends it again.
// Each incarnation names itself in a header, so the backend knows which
// process delivered each copy.
const configTemplate = `
extensions:
  file_storage/llm:
    directory: {{.Dir}}/storage
    create_directory: true
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{{.HTTP}}
processors:
  llm_feedback:
    storage: file_storage/llm
    storage_flush_interval: 1s
    pending:
      ttl: {{.PendingTTL}}
      retry_grace: {{.RetryGrace}}
exporters:
  nop:
  otlp_http/backend:
    logs_endpoint: http://{{.Backend}}/v1/logs
    compression: none
    timeout: 5s
    headers:
      {{.IncarnationHeader}}: "{{.Incarnation}}"
    retry_on_failure:
      enabled: true
      initial_interval: 50ms
      max_interval: 200ms
      max_elapsed_time: 500ms
    sending_queue:
      enabled: true
      wait_for_result: true
      num_consumers: 4
service:
  extensions: [file_storage/llm]
{{template "telemetry" .}}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [nop]
    logs:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [otlp_http/backend]
`

// incarnationHeader carries the number of the collector process that sent
// a request to the backend.
const incarnationHeader = "X-Chaos-Incarnation"

var configTmpl = func() *template.Template {
	t := template.Must(template.New("config").Parse(configTemplate))
	template.Must(t.New("telemetry").Parse(testcollector.Telemetry))
	return t
}()

// collector is the collector binary run again and again on one storage
// directory and the same ports.
type collector struct {
	bin, dir      string
	http, metrics int
	backend       string
	pendingTTL    time.Duration
	retryGrace    time.Duration

	incarnation int
	cmd         *exec.Cmd
	logPath     string
	done        chan struct{}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start writes the next incarnation's config and runs it until it reports
// it is ready.
func (c *collector) start() error {
	c.incarnation++
	var cfg bytes.Buffer
	err := configTmpl.Execute(&cfg, map[string]any{
		"Dir": c.dir, "HTTP": c.http, "Metrics": c.metrics, "Backend": c.backend,
		"PendingTTL": c.pendingTTL, "RetryGrace": c.retryGrace,
		"IncarnationHeader": incarnationHeader, "Incarnation": c.incarnation,
	})
	if err != nil {
		return err
	}
	path := filepath.Join(c.dir, fmt.Sprintf("config-%d.yaml", c.incarnation))
	if err := os.WriteFile(path, cfg.Bytes(), 0o600); err != nil {
		return err
	}
	c.logPath = filepath.Join(c.dir, fmt.Sprintf("collector-%d.log", c.incarnation))
	out, err := os.Create(c.logPath)
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own descriptor
	c.cmd = exec.Command(c.bin, "--config", path)
	c.cmd.Stdout, c.cmd.Stderr = out, out
	c.cmd.Dir = c.dir
	if err := c.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	c.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(c.cmd)

	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("collector %d exited during start:\n%s", c.incarnation, c.tail())
		case <-time.After(50 * time.Millisecond):
		}
		if log, _ := os.ReadFile(c.logPath); bytes.Contains(log, []byte("Everything is ready")) {
			return nil
		}
	}
	c.kill()
	return fmt.Errorf("collector %d did not start in 60s:\n%s", c.incarnation, c.tail())
}

// kill ends the process with SIGKILL: no shutdown hook runs.
func (c *collector) kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// stop sends SIGTERM and waits for a clean exit; an error if it takes
// longer than timeout (the process is then killed) or the exit was not clean.
func (c *collector) stop(timeout time.Duration) error {
	if c.cmd == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.kill()
		return fmt.Errorf("collector %d did not stop within %v of SIGTERM", c.incarnation, timeout)
	}
	if !c.cmd.ProcessState.Success() {
		return fmt.Errorf("collector %d exited with %v:\n%s", c.incarnation, c.cmd.ProcessState, c.tail())
	}
	return nil
}

// tail is the end of the current incarnation's log.
func (c *collector) tail() string {
	log, _ := os.ReadFile(c.logPath)
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// gauge reads one unlabelled metric from the collector's own endpoint.
func (c *collector) gauge(name string) (float64, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.metrics))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			return f, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(name + " not exported")
}
