package chaos

import (
	"compress/gzip"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// copyOut is one feedback record the backend accepted.
type copyOut struct {
	ID          string // the output record's id attribute
	Incarnation int    // the collector process that delivered it
	Correlation string
	TraceID     string
	SpanID      string
}

// backend is an OTLP/HTTP logs endpoint, the collector's exporter's
// destination. It refuses a share of requests with 503, in windows of a few
// hundred milliseconds as an overloaded backend does (a retry a moment later
// often meets the same refusal), and keeps every feedback record it accepted
// by the token the client wrote into its message.
type backend struct {
	share float64 // of time spent refusing

	mu        sync.Mutex
	rng       *rand.Rand
	refusing  bool
	windowEnd time.Time
	requests  int
	refused   int
	copies    map[string][]copyOut

	srv  *http.Server
	addr string
}

// refusalWindow is the mean length of one spell of refusals.
const refusalWindow = 400 * time.Millisecond

func newBackend(share float64, seed uint64) (*backend, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{
		share:  share,
		rng:    rand.New(rand.NewPCG(seed, 0xbac)),
		copies: map[string][]copyOut{},
		addr:   l.Addr().String(),
	}
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(l) }()
	return b, nil
}

func (b *backend) close() { _ = b.srv.Close() }

// refuseNow says whether a request arriving now is refused. Spells of
// refusing and accepting alternate, their lengths drawn around means that
// make refusals the configured share of the time.
func (b *backend) refuseNow(now time.Time) bool {
	if b.share <= 0 {
		return false
	}
	if b.windowEnd.IsZero() || now.Sub(b.windowEnd) > time.Minute {
		// The first request, or one after a long quiet spell: start accepting.
		b.windowEnd, b.refusing = now, true
	}
	for !now.Before(b.windowEnd) {
		b.refusing = !b.refusing
		mean := refusalWindow
		if !b.refusing {
			mean = time.Duration(float64(refusalWindow) * (1 - b.share) / b.share)
		}
		// Uniform in [mean/2, 3*mean/2].
		b.windowEnd = b.windowEnd.Add(mean/2 + time.Duration(b.rng.Int64N(int64(mean)+1)))
	}
	return b.refusing
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	incarnation, _ := strconv.Atoi(r.Header.Get(incarnationHeader))

	b.mu.Lock()
	b.requests++
	if b.refuseNow(time.Now()) {
		b.refused++
		b.mu.Unlock()
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	b.keep(req.Logs(), incarnation)
	b.mu.Unlock()

	resp, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// keep records every feedback record of ld; b.mu is held.
func (b *backend) keep(ld plog.Logs, incarnation int) {
	for _, r := range testcollector.Flatten([]plog.Logs{ld}) {
		if r.EventName != feedbackEvent {
			continue
		}
		msg, _ := r.Attrs["message"].(string)
		token, ok := strings.CutPrefix(msg, tokenPrefix)
		if !ok {
			token = "(no token: " + msg + ")"
		}
		id, _ := r.Attrs["id"].(string)
		corr, _ := r.Attrs["llm.feedback.correlation"].(string)
		b.copies[token] = append(b.copies[token], copyOut{
			ID: id, Incarnation: incarnation, Correlation: corr, TraceID: r.TraceID, SpanID: r.SpanID,
		})
	}
}

// snapshot copies what was accepted so far.
func (b *backend) snapshot() (copies map[string][]copyOut, requests, refused int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	copies = make(map[string][]copyOut, len(b.copies))
	for k, v := range b.copies {
		copies[k] = append([]copyOut(nil), v...)
	}
	return copies, b.requests, b.refused
}

// missing counts the tokens without a copy.
func (b *backend) missing(tokens []string) (n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range tokens {
		if len(b.copies[t]) == 0 {
			n++
		}
	}
	return n
}
