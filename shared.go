package llmfeedbackprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

// shared is the one state object behind both sides of one component id.
// The collector hands the traces side and the logs side the same *Config, so
// that pointer is the key. Lifecycle: created by the first create call for
// the config; started by the first Start; stopped by the first Shutdown,
// which also removes it from the registry, so a config reload (new *Config)
// gets a fresh one. A second Start or Shutdown is a no-op; Shutdown before
// Start is safe.
type shared struct {
	id        component.ID
	c         *correlator
	tb        *metadata.TelemetryBuilder
	startOnce sync.Once
	stopOnce  sync.Once
	remove    func()
}

var registry = struct {
	sync.Mutex
	m map[*Config]*shared
}{m: map[*Config]*shared{}}

// now is the clock the correlator reads; tests replace it through newShared.
var now = time.Now

func getShared(set processor.Settings, cfg *Config) (*shared, error) {
	registry.Lock()
	defer registry.Unlock()
	if s, ok := registry.m[cfg]; ok {
		return s, nil
	}
	s, err := newShared(set, cfg, now)
	if err != nil {
		return nil, err
	}
	s.remove = func() {
		registry.Lock()
		defer registry.Unlock()
		delete(registry.m, cfg)
	}
	registry.m[cfg] = s
	return s, nil
}

func newShared(set processor.Settings, cfg *Config, clock func() time.Time) (*shared, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	c := newCorrelator(cfg, set.Logger, newTelemetry(tb), clock)
	gauge := func(read func(traces, completions, pending int) int) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(read(c.sizes())))
			return nil
		}
	}
	for _, reg := range []struct {
		register func(metric.Int64Callback) error
		read     func(t, c, p int) int
	}{
		{tb.RegisterProcessorLlmFeedbackTracesCachedCallback, func(t, _, _ int) int { return t }},
		{tb.RegisterProcessorLlmFeedbackCompletionsCachedCallback, func(_, c, _ int) int { return c }},
		{tb.RegisterProcessorLlmFeedbackPendingRecordsCallback, func(_, _, p int) int { return p }},
	} {
		if err := reg.register(gauge(reg.read)); err != nil {
			return nil, err
		}
	}
	return &shared{id: set.ID, c: c, tb: tb, remove: func() {}}, nil
}

func (s *shared) Start(ctx context.Context, host component.Host) error {
	var err error
	s.startOnce.Do(func() {
		if s.c.cfg.Mode == ModeRoute {
			return // no state to keep
		}
		if s.c.cfg.Storage != nil {
			var client storage.Client
			if client, err = openStorage(ctx, host, *s.c.cfg.Storage, s.id); err != nil {
				return
			}
			p := newPersister(client, s.c.logger, s.c.tel)
			s.c.persist = p
			p.restoreCache(ctx, s.c)
			s.c.restorePending(p.restorePending(ctx))
		}
		s.c.emitter.start()
	})
	return err
}

func (s *shared) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.c.emitter.stop(ctx)
		if p := s.c.persist; p != nil {
			p.saveCache(ctx, s.c)
			p.close(ctx)
		}
		s.tb.Shutdown()
		s.remove()
	})
	return nil
}
