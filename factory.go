package llmfeedbackprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

// NewFactory returns the factory of the llm_feedback processor.
func NewFactory() processor.Factory {
	return newFactory(&factoryState{shared: map[*Config]*shared{}})
}

func newFactory(f *factoryState) processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(f.createTraces, metadata.TracesStability),
		processor.WithLogs(f.createLogs, metadata.LogsStability),
	)
}

// createTraces wraps the traces side in processorhelper, for the standard
// incoming and outgoing item metrics of each traces pipeline. The logs side
// is not wrapped: it must see the next consumer's answer to commit or roll
// back the batch (processor.go), which processorhelper keeps to itself.
func (f *factoryState) createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := f.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s.addTraces()
	tp := &tracesProcessor{shared: s, next: next}
	return processorhelper.NewTraces(ctx, set, cfg, next, tp.observe,
		processorhelper.WithCapabilities(tp.Capabilities()),
		processorhelper.WithStart(tp.Start),
		processorhelper.WithShutdown(tp.Shutdown))
}

func (f *factoryState) createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	s, err := f.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	if err := s.addLogs(); err != nil {
		return nil, err
	}
	s.c.setNext(next)
	return &logsProcessor{shared: s, next: next}, nil
}
