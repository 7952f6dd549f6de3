package testcollector

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// SinkExporter is a config fragment for the exporters section: the core
// otlp_http exporter, which every collector release has, sending to the
// collector's Sink one request per export call, as it is called.
// Use it as `{{template "sink" .}}` directly under `exporters:`; its id is
// otlp_http/sink.
const SinkExporter = `  otlp_http/sink:
    endpoint: {{.SinkURL}}
    compression: none
    sending_queue:
      enabled: false`

// Sink is an OTLP/HTTP endpoint on loopback that keeps what a collector
// exports to it, one entry per request, in arrival order. It outlives the
// collector, so what a collector emits while it shuts down is kept too.
type Sink struct {
	// URL is the endpoint for an otlp_http exporter.
	URL    string
	mu     sync.Mutex
	logs   []plog.Logs
	traces []ptrace.Traces
}

// NewSink starts a sink that is closed when the test ends.
func NewSink(t testing.TB) *Sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{URL: "http://" + l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/logs", s.serve)
	mux.HandleFunc("POST /v1/traces", s.serve)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Logs is every logs request taken so far.
func (s *Sink) Logs() []plog.Logs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.Logs(nil), s.logs...)
}

// Traces is every traces request taken so far.
func (s *Sink) Traces() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.traces...)
}

// serve takes one export request: it keeps the data and answers as a
// backend does.
func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	switch {
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		http.Error(w, "want application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	var resp []byte
	s.mu.Lock()
	if r.URL.Path == "/v1/logs" {
		req := plogotlp.NewExportRequest()
		if err = req.UnmarshalProto(body); err == nil {
			s.logs = append(s.logs, req.Logs())
			resp, err = plogotlp.NewExportResponse().MarshalProto()
		}
	} else {
		req := ptraceotlp.NewExportRequest()
		if err = req.UnmarshalProto(body); err == nil {
			s.traces = append(s.traces, req.Traces())
			resp, err = ptraceotlp.NewExportResponse().MarshalProto()
		}
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}
