package llmfeedback_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
)

func ExampleCurrentTraceID() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()

	// The chat request arrives carrying a W3C traceparent; the completion
	// span joins that trace.
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier{
		"Traceparent": {"00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01"},
	})
	ctx, span := tp.Tracer("chat").Start(ctx, "chat gpt-4o")
	// ... call the model, then keep the trace id with the answer ...
	traceID := llmfeedback.CurrentTraceID(ctx)
	span.End()

	fmt.Println(traceID)
	fmt.Printf("%q\n", llmfeedback.CurrentTraceID(context.Background()))
	// Output:
	// 5b8efff798038103d269b633813fc60c
	// ""
}

func ExampleRecord() {
	// In an app: the LoggerProvider set up at start, exporting with otlploghttp
	// to the collector (and Record's default is the global provider). Here: an
	// SDK provider exporting to memory, to show the record.
	exporter := &memExporter{}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exporter)))
	defer func() { _ = provider.Shutdown(context.Background()) }()

	// Later, in another request, the user rates the answer whose trace id was
	// kept with CurrentTraceID.
	err := llmfeedback.Record(context.Background(), "5b8efff798038103d269b633813fc60c", "Good",
		llmfeedback.WithCategory("informative"),
		llmfeedback.WithMessage("Helpful, thanks"),
		llmfeedback.WithSpanID("eee19b7ec3c1b174"),
		llmfeedback.WithMetadata(map[string]any{"user.tier": "pro", "turn": 3}),
		llmfeedback.WithLoggerProvider(provider),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := exporter.Records()[0]
	fmt.Println(r.EventName(), r.TraceID(), r.SpanID())
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		fmt.Printf("  %s: %s\n", kv.Key, kv.Value)
		return true
	})

	// A refused argument is an error, and nothing is emitted.
	err = llmfeedback.Record(context.Background(), "5b8efff7-not-a-trace-id", "Good",
		llmfeedback.WithLoggerProvider(provider))
	fmt.Println(err)
	fmt.Println(len(exporter.Records()), "record")
	// Output:
	// LlmFeedbackMessage 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174
	//   trace_id: 5b8efff798038103d269b633813fc60c
	//   span_id: eee19b7ec3c1b174
	//   rating: Good
	//   category: informative
	//   message: Helpful, thanks
	//   metadata: {"turn":3,"user.tier":"pro"}
	//   ingest_source: Go
	// llmfeedback: invalid argument: trace id "5b8efff7-not-a-trace-id" has dashes but is neither a UUID (8-4-4-4-12 hex) nor a traceparent (00-<32 hex>-<16 hex>-<2 hex>)
	// 1 record
}

// memProvider is an SDK LoggerProvider exporting to memory, as in ExampleRecord.
func memProvider() (*sdklog.LoggerProvider, *memExporter) {
	exporter := &memExporter{}
	return sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exporter))), exporter
}

// printRecords prints what an example emitted.
func printRecords(exporter *memExporter) {
	for _, r := range exporter.Records() {
		fmt.Printf("%s trace=%s span=%s\n", r.EventName(), r.TraceID(), r.SpanID())
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			fmt.Printf("  %s: %s\n", kv.Key, kv.Value)
			return true
		})
	}
}

func ExampleRecordResponse() {
	provider, exporter := memProvider()
	defer func() { _ = provider.Shutdown(context.Background()) }()

	// The app kept the id the provider returned with the answer (resp.ID from
	// the OpenAI client); its instrumentation wrote the same id on the
	// completion span as gen_ai.response.id.
	err := llmfeedback.RecordResponse(context.Background(), "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "Good",
		llmfeedback.WithMessage("Helpful, thanks"),
		llmfeedback.WithLoggerProvider(provider),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	printRecords(exporter)
	// Output:
	// LlmFeedbackMessage trace=00000000000000000000000000000000 span=0000000000000000
	//   gen_ai.response.id: chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG
	//   rating: Good
	//   message: Helpful, thanks
	//   ingest_source: Go
}

func ExampleRecordKey() {
	provider, exporter := memProvider()
	defer func() { _ = provider.Shutdown(context.Background()) }()

	// The app set its own message id on the completion span
	// (span.SetAttributes(attribute.String("app.message_id", msg.ID))), and the
	// collector lists the key: llm_feedback: {join: {keys: [app.message_id]}}.
	err := llmfeedback.RecordKey(context.Background(), "app.message_id", "msg-7f3a", "Bad",
		llmfeedback.WithCategory("inaccurate"),
		llmfeedback.WithLoggerProvider(provider),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	printRecords(exporter)

	// A built-in attribute is not an app key.
	err = llmfeedback.RecordKey(context.Background(), "trace_id", "5b8efff798038103d269b633813fc60c", "Bad",
		llmfeedback.WithLoggerProvider(provider))
	fmt.Println(err)
	// Output:
	// LlmFeedbackMessage trace=00000000000000000000000000000000 span=0000000000000000
	//   app.message_id: msg-7f3a
	//   rating: Bad
	//   category: inaccurate
	//   ingest_source: Go
	// llmfeedback: invalid argument: key name "trace_id" is a built-in feedback attribute (use Record); expected the app's own attribute, such as "app.message_id"
}

func ExampleRecordConversation() {
	provider, exporter := memProvider()
	defer func() { _ = provider.Shutdown(context.Background()) }()

	// Every turn's completion span carries gen_ai.conversation.id; the user
	// rates the answer on screen, which is the turn that ended last before now.
	err := llmfeedback.RecordConversation(context.Background(), "conv-2f9c", 4,
		llmfeedback.WithLoggerProvider(provider),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	printRecords(exporter)
	// Output:
	// LlmFeedbackMessage trace=00000000000000000000000000000000 span=0000000000000000
	//   gen_ai.conversation.id: conv-2f9c
	//   rating: 4
	//   ingest_source: Go
}
