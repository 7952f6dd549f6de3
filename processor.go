package llmfeedbackprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// tracesProcessor is the traces pipeline's side: it reads completions into
// the shared correlator and passes every span on unchanged.
type tracesProcessor struct {
	*shared
	next consumer.Traces
}

func (p *tracesProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Shutdown stops the traces side; the shared state stops with the last side.
func (p *tracesProcessor) Shutdown(ctx context.Context) error { return p.stopSide(ctx, false) }

func (p *tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	p.c.observeTraces(td)
	return p.next.ConsumeTraces(ctx, td)
}

// observe is ConsumeTraces without the hand-off, for processorhelper.
func (p *tracesProcessor) observe(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	p.c.observeTraces(td)
	return td, nil
}

// logsProcessor is the logs pipeline's side: it rewrites feedback records in
// place, takes out those that must wait for their completion or are
// duplicates, and passes everything else on untouched.
type logsProcessor struct {
	*shared
	next consumer.Logs
}

func (p *logsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Shutdown stops the logs side: held feedback is handed out (see
// emitter.stop); the shared state stops with the last side.
func (p *logsProcessor) Shutdown(ctx context.Context) error { return p.stopSide(ctx, true) }

func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if !p.hasFeedback(ld) {
		return p.next.ConsumeLogs(ctx, ld)
	}
	var b logsBatch
	// Only a scope or resource emptied by taking records out goes; an empty
	// one the app sent passes on as it came.
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		emptiedScope := false
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			takenOut := false
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				if !p.c.matcher.Is(lr) {
					return false
				}
				out := p.c.consumeFeedback(rl, sl, lr, &b)
				takenOut = takenOut || out == takeOut
				return out == takeOut
			})
			emptied := takenOut && sl.LogRecords().Len() == 0
			emptiedScope = emptiedScope || emptied
			return emptied
		})
		return emptiedScope && rl.ScopeLogs().Len() == 0
	})
	if b.inFlight != "" {
		p.c.rollback(&b)
		return fmt.Errorf("llm_feedback: feedback id %q is being delivered by another request; retry this batch", b.inFlight)
	}
	// Appended after the walk: RemoveIf must not see the slice grow.
	for _, ev := range b.evals {
		evaluation(ev.dst, ev.rec, &ev.comp)
	}
	if ld.ResourceLogs().Len() == 0 {
		p.finish(&b) // everything was held back or a duplicate
		return nil
	}
	if err := p.next.ConsumeLogs(ctx, ld); err != nil {
		// The caller will retry the batch: it must find no trace of this try.
		p.c.rollback(&b)
		return err
	}
	p.finish(&b)
	return nil
}

// finish commits the batch and, with storage, waits (at most
// storage_write_wait) until the records it held are written, before the
// receiver acknowledges it. Its ids stay in flight until then, so that a
// dedupe window saved meanwhile leaves them out: a crash before the write
// makes the client send the batch again, and that retry must be taken.
func (p *logsProcessor) finish(b *logsBatch) {
	p.c.persist.waitTried(p.c.commit(b), p.c.cfg.StorageWriteWait)
	p.c.settle(b)
}

// hasFeedback is on the path of every log batch: plain loops, and the
// matcher rules out a key by its length, so a batch without feedback costs
// little more than reading its records.
func (p *logsProcessor) hasFeedback(ld plog.Logs) bool {
	m := &p.c.matcher
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			if m.AnyIn(sls.At(j).LogRecords()) {
				return true
			}
		}
	}
	return false
}

var (
	_ component.Component = (*tracesProcessor)(nil)
	_ consumer.Traces     = (*tracesProcessor)(nil)
	_ consumer.Logs       = (*logsProcessor)(nil)
)
