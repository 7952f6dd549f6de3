// A minimal Node.js app that shows the two halves the llm_feedback processor joins:
//
//  1. one LLM completion span, named and attributed per the OpenTelemetry GenAI
//     semantic conventions (`chat gpt-4o`, kind CLIENT, gen_ai.*), sent over OTLP/HTTP;
//  2. one feedback event about that completion, sent through the OpenTelemetry logs API
//     as a log record with eventName `LlmFeedbackMessage` carrying the completion's trace id,
//     in the shape of New Relic's `recordLlmFeedbackEvent({traceId, rating, ...})`.
//
// Environment:
//   OTEL_EXPORTER_OTLP_ENDPOINT  base URL of the collector's OTLP/HTTP receiver
//                                (default http://localhost:4318; /v1/traces and /v1/logs are appended)
//   OTEL_SERVICE_NAME            service.name of this app (default node-chat-example)
//   FEEDBACK_FIRST=1             export the feedback before the completion span
//                                (exercises the processor's "feedback arrives first" path)
//
// Prints `trace_id=<32 hex>` on stdout. Exits non-zero if an export fails.

import { diag, DiagConsoleLogger, DiagLogLevel, SpanKind, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN); // export errors go to stderr

const endpoint = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318').replace(/\/+$/, '');
const feedbackFirst = process.env.FEEDBACK_FIRST === '1';
const resource = resourceFromAttributes({
  'service.name': process.env.OTEL_SERVICE_NAME || 'node-chat-example',
});

const tracerProvider = new NodeTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
});
tracerProvider.register();

const loggerProvider = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${endpoint}/v1/logs` }) })],
});
logs.setGlobalLoggerProvider(loggerProvider);

/**
 * Records end-user feedback about an LLM response, like New Relic's Node agent
 * `recordLlmFeedbackEvent`, but as a plain OpenTelemetry log record (event) that the
 * llm_feedback processor joins to the completion span of `traceId`.
 *
 * @param {object} feedback
 * @param {string} feedback.traceId   trace id of the request that produced the response (32 hex)
 * @param {string|number|boolean} feedback.rating  required, e.g. 'Good' / 'Bad' or 1-10
 * @param {string} [feedback.category] e.g. 'informative', 'inaccurate'
 * @param {string} [feedback.message]  free text from the user
 * @param {Record<string, string|number|boolean>} [feedback.metadata] flattened into top-level
 *        attributes by the processor (built-in keys win)
 * @param {string} [feedback.id]       stable id of this feedback (e.g. per click), used to drop
 *        double clicks; the processor generates one when absent
 */
function recordLlmFeedbackEvent({ traceId, rating, category, message, metadata, id } = {}) {
  if (!traceId) throw new TypeError('recordLlmFeedbackEvent: traceId is required');
  if (rating === undefined || rating === null) throw new TypeError('recordLlmFeedbackEvent: rating is required');
  const attributes = { trace_id: String(traceId), rating, ingest_source: 'Node' };
  if (id !== undefined) attributes.id = String(id);
  if (category !== undefined) attributes.category = category;
  if (message !== undefined) attributes.message = message;
  if (metadata && Object.keys(metadata).length > 0) attributes.metadata = { ...metadata }; // AnyValue map
  logs.getLogger('llm-feedback-example').emit({
    // sdk-logs 0.223.x exports `eventName` as the OTLP LogRecord.event_name field.
    eventName: 'LlmFeedbackMessage',
    attributes,
  });
}

// Stands in for a call to an LLM provider.
async function fakeChatCompletion() {
  await sleep(120);
  return {
    id: `chatcmpl-${randomBytes(12).toString('hex')}`,
    model: 'gpt-4o-2024-08-06',
    usage: { prompt_tokens: 120, completion_tokens: 48 },
    finishReasons: ['stop'],
  };
}

async function main() {
  const tracer = trace.getTracer('llm-feedback-example');

  // The completion span (GenAI semconv 1.37+). Attributes known before the call are
  // set at start; response attributes once the call returns.
  const traceId = await tracer.startActiveSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
      },
    },
    async (span) => {
      try {
        const res = await fakeChatCompletion();
        span.setAttributes({
          'gen_ai.response.model': res.model,
          'gen_ai.response.id': res.id,
          'gen_ai.usage.input_tokens': res.usage.prompt_tokens,
          'gen_ai.usage.output_tokens': res.usage.completion_tokens,
          'gen_ai.response.finish_reasons': res.finishReasons,
        });
        return span.spanContext().traceId;
      } finally {
        span.end();
      }
    },
  );
  console.log(`trace_id=${traceId}`);

  // Later (in a real app: another request, minutes after) the user rates the answer.
  const sendFeedback = async () => {
    recordLlmFeedbackEvent({
      traceId,
      rating: 'Good',
      category: 'informative',
      message: 'Clear and correct answer',
      metadata: { user_tier: 'pro', ui_surface: 'chat-widget', conversation_turn: 3 },
    });
    await loggerProvider.forceFlush();
  };

  // forceFlush resolves once the OTLP/HTTP response came back, so the order is exact.
  if (feedbackFirst) {
    await sendFeedback();
    await tracerProvider.forceFlush();
  } else {
    await tracerProvider.forceFlush();
    await sendFeedback();
  }
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error('export failed:', err);
  exitCode = 1;
} finally {
  // Flush whatever is left and stop the exporters before the process ends.
  await Promise.allSettled([tracerProvider.shutdown(), loggerProvider.shutdown()]);
}
process.exitCode = exitCode;
