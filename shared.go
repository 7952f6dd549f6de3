package llmfeedbackprocessor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

// shared is the one state object behind every pipeline that lists one
// component id. The collector hands all of them the same *Config, so that
// pointer is the key. It behaves as core's sharedcomponent does:
//
//   - created by the first create call for the config, in any pipeline;
//   - started by the first Start; its error, if any, is returned to every
//     pipeline's Start, not only the first;
//   - each pipeline's Shutdown stops what belongs to its side: the last logs
//     side stops the emitter (it owns the logs pipeline's next consumer),
//     the last side of all saves and closes storage and removes the state
//     from the registry, so a config reload (new *Config) gets a fresh one.
//
// From the first Shutdown on, the state is stopping: feedback is no longer
// held back but handled at once (see correlator.stopping).
type shared struct {
	id     component.ID
	c      *correlator
	tb     *metadata.TelemetryBuilder
	logger *zap.Logger

	mu         sync.Mutex
	tracesSide int // pipelines created on each side
	logsSide   int
	started    bool
	startErr   error
	down       int  // sides shut down
	stopped    bool // the last side is down
	remove     func()
}

// factoryState is the registry of shared states, one per *Config, held by
// the factory rather than a package variable so that two factories (two
// collectors in one test process) do not share it.
type factoryState struct {
	mu     sync.Mutex
	shared map[*Config]*shared
}

func (f *factoryState) get(set processor.Settings, cfg *Config) (*shared, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.shared[cfg]; ok {
		return s, nil
	}
	s, err := newShared(set, cfg, time.Now)
	if err != nil {
		return nil, err
	}
	s.remove = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.shared, cfg)
	}
	f.shared[cfg] = s
	return s, nil
}

// Attributes the collector injects into a component's telemetry that name
// the pipeline that created it; the shared state belongs to every pipeline
// that lists its id, so it reports without them (as core's memory limiter).
var pipelineAttributes = []string{"otelcol.signal", "otelcol.pipeline.id"}

type (
	attributeDroppingCore interface {
		DropInjectedAttributes(attrs ...string) zapcore.Core
	}
	attributeDroppingMeters interface {
		DropInjectedAttributes(attrs ...string) metric.MeterProvider
	}
	attributeDroppingTracers interface {
		DropInjectedAttributes(attrs ...string) trace.TracerProvider
	}
)

func withoutPipelineAttributes(ts component.TelemetrySettings) component.TelemetrySettings {
	ts.Logger = ts.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		if d, ok := c.(attributeDroppingCore); ok {
			return d.DropInjectedAttributes(pipelineAttributes...)
		}
		return c
	}))
	if d, ok := ts.MeterProvider.(attributeDroppingMeters); ok {
		ts.MeterProvider = d.DropInjectedAttributes(pipelineAttributes...)
	}
	if d, ok := ts.TracerProvider.(attributeDroppingTracers); ok {
		ts.TracerProvider = d.DropInjectedAttributes(pipelineAttributes...)
	}
	return ts
}

func newShared(set processor.Settings, cfg *Config, clock func() time.Time) (*shared, error) {
	set.TelemetrySettings = withoutPipelineAttributes(set.TelemetrySettings)
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
	return &shared{id: set.ID, c: c, tb: tb, logger: set.Logger, remove: func() {}}, nil
}

// addTraces and addLogs count the pipelines of each side. Held-back feedback
// can go to one logs pipeline only, so a second one is refused.
func (s *shared) addTraces() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracesSide++
}

func (s *shared) addLogs() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logsSide > 0 {
		return fmt.Errorf("%s is listed in more than one logs pipeline; feedback it holds back can be emitted to one only: list it in one logs pipeline, or give each pipeline its own id (%s/a, %s/b)", s.id, s.id.Type(), s.id.Type())
	}
	s.logsSide++
	return nil
}

// Start starts the state once; every caller gets the first call's result.
func (s *shared) Start(ctx context.Context, host component.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return s.startErr
	}
	s.started = true
	s.startErr = s.start(ctx, host)
	return s.startErr
}

func (s *shared) start(ctx context.Context, host component.Host) error {
	s.warnAboutLayout()
	for _, msg := range ineffectiveKeys(s.c.cfg) {
		s.logger.Warn(msg)
	}
	if s.c.cfg.Storage != nil {
		client, err := openStorage(ctx, host, *s.c.cfg.Storage, s.id)
		if err != nil {
			return err
		}
		s.c.attachStorage(ctx, newPersister(client, s.c.logger, s.c.tel, s.c.cfg))
	}
	s.c.emitter.start()
	return nil
}

// warnAboutLayout tells the user at start when a pipeline layout makes the
// processor useless; called with s.mu held.
func (s *shared) warnAboutLayout() {
	if s.c.cfg.Mode == ModeRoute {
		if s.tracesSide == 0 {
			s.logger.Warn(fmt.Sprintf("%s (mode: route) is in no traces pipeline: feedback that names its completion by gen_ai.response.id, join::keys or gen_ai.conversation.id cannot be routed, only feedback with a trace id; add %s to the traces pipeline too", s.id, s.id))
		}
		return
	}
	switch {
	case s.tracesSide == 0 && s.logsSide > 0:
		s.logger.Warn(fmt.Sprintf("%s is in no traces pipeline: it sees no completions, so every feedback record will come out unmatched; add %s to the traces pipeline that receives the LLM spans", s.id, s.id))
	case s.logsSide == 0 && s.tracesSide > 0:
		s.logger.Warn(fmt.Sprintf("%s is in no logs pipeline: it caches completions that no feedback will ever be joined to; add %s to the logs pipeline that receives the feedback records", s.id, s.id))
	}
}

// stopSide is one pipeline's Shutdown; see shared for what each stops.
func (s *shared) stopSide(ctx context.Context, logsSide bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.c.stopping.Store(true)
	s.down++
	last := s.down >= s.tracesSide+s.logsSide
	if logsSide || last {
		s.c.emitter.stop(ctx)
	}
	if last {
		s.stopped = true
		s.c.persist.stop(ctx)
		s.tb.Shutdown()
		s.remove()
	}
	return nil
}

// Shutdown stops every side not yet stopped (for tests and callers that
// hold the state itself rather than one pipeline's processor).
func (s *shared) Shutdown(ctx context.Context) error {
	for {
		s.mu.Lock()
		stopped := s.stopped
		s.mu.Unlock()
		if stopped {
			return nil
		}
		if err := s.stopSide(ctx, true); err != nil {
			return err
		}
	}
}
