// A minimal Node.js app that shows the two halves the llm_feedback processor joins:
//
//  1. one LLM completion span, named and attributed per the OpenTelemetry GenAI
//     semantic conventions (`chat gpt-4o`, kind CLIENT, gen_ai.*), sent over OTLP/HTTP,
//     with the response id the OpenAI client returned as gen_ai.response.id;
//  2. one feedback event about that completion, sent later through the OpenTelemetry logs
//     API as a log record with eventName `LlmFeedbackMessage` that names the completion by
//     that response id: the id a chat UI already holds, so the app needs no trace id. (The
//     New Relic shape, `recordLlmFeedbackEvent({traceId, rating, ...})`, works too: JOIN_BY.)
//
// Environment:
//   OTEL_EXPORTER_OTLP_ENDPOINT  base URL of the collector's OTLP/HTTP receiver
//                                (default http://localhost:4318; /v1/traces and /v1/logs are appended)
//   OTEL_SERVICE_NAME            service.name of this app (default node-chat-example)
//   FEEDBACK_FIRST=1             export the feedback before the completion span
//                                (exercises the processor's "feedback arrives first" path)
//   JOIN_BY                      response_id (default): the feedback carries the response id;
//                                trace_id: it carries the completion's trace id instead
//
// Prints `response_id=chatcmpl-…` and `trace_id=<32 hex>` on stdout. Exits non-zero if an
// export fails.

import { diag, DiagConsoleLogger, DiagLogLevel, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN); // export errors go to stderr

const endpoint = (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318').replace(/\/+$/, '');
const feedbackFirst = process.env.FEEDBACK_FIRST === '1';
const joinBy = process.env.JOIN_BY || 'response_id';
if (joinBy !== 'response_id' && joinBy !== 'trace_id') {
  throw new TypeError(`JOIN_BY must be response_id or trace_id, got ${JSON.stringify(joinBy)}`);
}
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
 * llm_feedback processor joins to the completion it names: by `responseId` (the `id` the
 * provider returned, which the instrumentation wrote on the span as gen_ai.response.id),
 * or by `traceId` as New Relic's agents do. One of them is required; with both, the
 * processor looks in the trace and uses the response id to pick the completion there.
 *
 * @param {object} feedback
 * @param {string} [feedback.responseId] the provider's response id, e.g. `chatcmpl-…`
 * @param {string} [feedback.traceId]    trace id of the request that produced the response (32 hex)
 * @param {string|number|boolean} feedback.rating  required, e.g. 'Good' / 'Bad' or 1-10
 * @param {string} [feedback.category] e.g. 'informative', 'inaccurate'
 * @param {string} [feedback.message]  free text from the user
 * @param {Record<string, string|number|boolean>} [feedback.metadata] flattened into top-level
 *        attributes by the processor (built-in keys win)
 * @param {string} [feedback.id]       stable id of this feedback (e.g. per click), used to drop
 *        double clicks; the processor generates one when absent
 */
function recordLlmFeedbackEvent({ responseId, traceId, rating, category, message, metadata, id } = {}) {
  if (!responseId && !traceId) throw new TypeError('recordLlmFeedbackEvent: responseId or traceId is required');
  if (rating === undefined || rating === null) throw new TypeError('recordLlmFeedbackEvent: rating is required');
  const attributes = { rating, ingest_source: 'Node' };
  if (traceId) attributes.trace_id = String(traceId);
  if (responseId) attributes['gen_ai.response.id'] = String(responseId);
  if (id !== undefined) attributes.id = String(id);
  if (category !== undefined) attributes.category = category;
  if (message !== undefined) attributes.message = message;
  if (metadata && Object.keys(metadata).length > 0) attributes.metadata = { ...metadata }; // AnyValue map
  logs.getLogger('llm-feedback-example').emit({
    // sdk-logs 0.223.x exports `eventName` as the OTLP LogRecord.event_name field.
    eventName: 'LlmFeedbackMessage',
    attributes,
    // Not in whatever trace is active (the feedback request's, in a server): that trace
    // holds no completion. The processor writes the completion's trace onto the record.
    context: ROOT_CONTEXT,
  });
}

const idChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Stands in for `await openai.chat.completions.create({model: 'gpt-4o', messages})`: the
// same response object shape as the OpenAI Node client returns, without the network.
async function fakeChatCompletion(messages) {
  await sleep(120);
  return {
    id: `chatcmpl-${Array.from({ length: 29 }, () => idChars[randomInt(idChars.length)]).join('')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: `You asked: ${messages.at(-1).content}`, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 120, completion_tokens: 48, total_tokens: 168 },
    system_fingerprint: 'fp_50cad350e4',
  };
}

// One chat turn: the completion span around the call, and what the app hands its UI.
async function chat(tracer, messages) {
  // What an OpenAI instrumentation records around the call, in GenAI semconv 1.37+ names
  // (@opentelemetry/instrumentation-openai writes gen_ai.response.id from the same `res.id`).
  // With one installed, this span goes away; the app only keeps `res.id`.
  return tracer.startActiveSpan(
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
        const res = await fakeChatCompletion(messages);
        span.setAttributes({
          'gen_ai.response.id': res.id,
          'gen_ai.response.model': res.model,
          'gen_ai.usage.input_tokens': res.usage.prompt_tokens,
          'gen_ai.usage.output_tokens': res.usage.completion_tokens,
          'gen_ai.response.finish_reasons': res.choices.map((c) => c.finish_reason),
        });
        return {
          text: res.choices[0].message.content,
          responseId: res.id, // the UI sends it back with the thumbs-up
          traceId: span.spanContext().traceId, // only needed for JOIN_BY=trace_id
        };
      } finally {
        span.end();
      }
    },
  );
}

async function main() {
  const tracer = trace.getTracer('llm-feedback-example');
  const answer = await chat(tracer, [{ role: 'user', content: 'What is OpenTelemetry?' }]);
  console.log(`response_id=${answer.responseId}`);
  console.log(`trace_id=${answer.traceId}`);

  // Later (in a real app: another request, minutes after) the user rates the answer.
  const sendFeedback = async () => {
    recordLlmFeedbackEvent({
      ...(joinBy === 'trace_id' ? { traceId: answer.traceId } : { responseId: answer.responseId }),
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
