package llmfeedbackprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

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

func (f *factoryState) createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := f.get(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s.addTraces()
	return &tracesProcessor{shared: s, next: next}, nil
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
