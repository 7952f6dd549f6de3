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
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := getShared(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return &tracesProcessor{shared: s, next: next}, nil
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	s, err := getShared(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s.c.setNext(next)
	return &logsProcessor{shared: s, next: next}, nil
}
