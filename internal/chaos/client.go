package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// client sends OTLP/HTTP protobuf as an OpenTelemetry SDK exporter does: a
// batch the collector refused, or could not be reached for, is sent again,
// the same bytes, with backoff. Statuses the OTLP specification does not
// let a client retry end the batch with an error.
type client struct {
	http    *http.Client
	base    string
	retries atomic.Int64
}

// errNotRetryable marks an answer an SDK would drop the batch on.
var errNotRetryable = errors.New("not retryable")

func newClient(port int) *client {
	return &client{
		http: &http.Client{Timeout: 10 * time.Second},
		base: fmt.Sprintf("http://127.0.0.1:%d", port),
	}
}

// send posts body to path until the collector accepts it or ctx ends.
func (c *client) send(ctx context.Context, path string, body []byte) error {
	backoff := 50 * time.Millisecond
	for {
		err := c.post(ctx, path, body)
		if err == nil || errors.Is(err, errNotRetryable) {
			return err
		}
		c.retries.Add(1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("POST %s not accepted before the deadline: %w", path, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (c *client) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
	default:
		return fmt.Errorf("POST %s: %s: %s: %w", path, resp.Status, msg, errNotRetryable)
	}
}
