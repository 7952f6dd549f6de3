package benchdata

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Gen makes telemetry from a seeded random source. Not safe for concurrent use.
type Gen struct {
	r *rand.Rand
}

// New returns a generator; the same seed gives the same data.
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Completion names one completion span of a batch, for feedback to refer to.
type Completion struct {
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	End     pcommon.Timestamp
}

// Latest returns the completion of c's trace in cs that ended last: the one
// feedback naming only the trace is joined to.
func Latest(cs []Completion, c Completion) Completion {
	for _, o := range cs {
		if o.TraceID == c.TraceID && o.End > c.End {
			c = o
		}
	}
	return c
}

// Batch is a span batch and where its completions are.
type Batch struct {
	Traces      ptrace.Traces
	Completions []Completion
	// End is the latest span end time in the batch.
	End   time.Time
	spans []ptrace.Span // the completion spans, as Completions
	ids   []idKeys      // the attributes Refresh renews on them
}

type idKeys struct{ response, conversation, provider string }

type kind uint8

const (
	kServer kind = iota
	kClient
	kDB
	kCompletion
)

// Spans returns a batch of n spans of which pct percent (rounded) are LLM
// completions written by one of the four naming generations; the others are
// HTTP server, HTTP client and database client spans with 8 to 15 attributes.
// Spans are grouped into traces of 8 to 30 spans, each rooted in a server
// span, and into one resource per service and one scope per instrumentation.
// Every span ends at most 5s before end.
func (g *Gen) Spans(n int, pct float64, end time.Time) *Batch {
	nComp := int(math.Round(float64(n) * pct / 100))
	kinds := make([]kind, n)
	for i := range kinds {
		switch {
		case i < nComp:
			kinds[i] = kCompletion
		default:
			switch x := g.r.IntN(100); {
			case x < 25:
				kinds[i] = kServer
			case x < 60:
				kinds[i] = kClient
			default:
				kinds[i] = kDB
			}
		}
	}
	g.r.Shuffle(n, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })

	b := &Batch{Traces: ptrace.NewTraces(), End: end}
	res := map[int]ptrace.ResourceSpans{}
	scopes := map[[2]int]ptrace.SpanSlice{}
	spansOf := func(svc int, k kind, gen int) ptrace.SpanSlice {
		key := [2]int{svc, int(k)*8 + gen}
		if ss, ok := scopes[key]; ok {
			return ss
		}
		rs, ok := res[svc]
		if !ok {
			rs = b.Traces.ResourceSpans().AppendEmpty()
			g.resource(rs.Resource().Attributes(), traceServices[svc])
			rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.34.0")
			res[svc] = rs
		}
		ss := rs.ScopeSpans().AppendEmpty()
		name, version := scopeName(traceServices[svc], k, gen)
		ss.Scope().SetName(name)
		ss.Scope().SetVersion(version)
		scopes[key] = ss.Spans()
		return ss.Spans()
	}

	for start := 0; start < n; {
		size := min(8+g.r.IntN(23), n-start)
		tk := kinds[start : start+size]
		start += size
		hasLLM := false
		root := -1
		for i, k := range tk {
			if k == kCompletion {
				hasLLM = true
			} else if root < 0 {
				root = i
			}
		}
		if root >= 0 {
			tk[root] = kServer
		} else {
			root = 0
		}
		svc := g.r.IntN(len(traceServices))
		for hasLLM && !traceServices[svc].llm {
			svc = g.r.IntN(len(traceServices))
		}
		traceID := g.traceID()
		rootID := g.spanID()
		traceEnd := end.Add(-time.Duration(g.r.Int64N(int64(5 * time.Second))))
		rootDur := time.Duration(20+g.r.IntN(480)) * time.Millisecond
		if hasLLM {
			rootDur = time.Duration(2000+g.r.IntN(13000)) * time.Millisecond
		}
		rootStart := traceEnd.Add(-rootDur)
		for i, k := range tk {
			gen := 0
			if k == kCompletion {
				gen = g.generation()
			}
			span := spansOf(svc, k, gen).AppendEmpty()
			span.SetTraceID(traceID)
			if i == root {
				span.SetSpanID(rootID)
				span.SetStartTimestamp(pcommon.NewTimestampFromTime(rootStart))
				span.SetEndTimestamp(pcommon.NewTimestampFromTime(traceEnd))
			} else {
				span.SetSpanID(g.spanID())
				span.SetParentSpanID(rootID)
				d := g.duration(k)
				d = min(d, rootDur-time.Millisecond)
				off := time.Duration(g.r.Int64N(int64(rootDur - d)))
				span.SetStartTimestamp(pcommon.NewTimestampFromTime(rootStart.Add(off)))
				span.SetEndTimestamp(pcommon.NewTimestampFromTime(rootStart.Add(off + d)))
			}
			span.Status().SetCode(ptrace.StatusCodeUnset)
			if g.r.IntN(100) == 0 {
				span.Status().SetCode(ptrace.StatusCodeError)
			}
			switch k {
			case kServer:
				g.server(span)
			case kClient:
				g.client(span)
			case kDB:
				g.db(span)
			case kCompletion:
				keys := g.completion(span, gen)
				b.spans = append(b.spans, span)
				b.ids = append(b.ids, keys)
				b.Completions = append(b.Completions, Completion{TraceID: traceID, SpanID: span.SpanID(), End: span.EndTimestamp()})
			}
		}
	}
	return b
}

// Refresh makes b a new batch of the same shape, cheaply: new trace ids, new
// response and conversation ids on the completions, and timestamps moved so
// the batch ends at end. Completions is updated.
func (g *Gen) Refresh(b *Batch, end time.Time) {
	delta := uint64(end.Sub(b.End))
	b.End = end
	var last, repl pcommon.TraceID
	ids := make(map[pcommon.TraceID]pcommon.TraceID, 64)
	rss := b.Traces.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				old := span.TraceID()
				if old != last {
					nid, ok := ids[old]
					if !ok {
						nid = g.traceID()
						ids[old] = nid
					}
					last, repl = old, nid
				}
				span.SetTraceID(repl)
				span.SetStartTimestamp(span.StartTimestamp() + pcommon.Timestamp(delta))
				span.SetEndTimestamp(span.EndTimestamp() + pcommon.Timestamp(delta))
			}
		}
	}
	for i, span := range b.spans {
		attrs := span.Attributes()
		if k := b.ids[i].response; k != "" {
			attrs.PutStr(k, g.responseID(b.ids[i].provider))
		}
		if k := b.ids[i].conversation; k != "" {
			attrs.PutStr(k, g.UUID())
		}
		b.Completions[i].TraceID = span.TraceID()
		b.Completions[i].End = span.EndTimestamp()
	}
}

// generation picks the naming generation of a completion: current semconv,
// older semconv, OpenLLMetry, OpenInference.
func (g *Gen) generation() int {
	switch x := g.r.IntN(100); {
	case x < 55:
		return 0
	case x < 80:
		return 1
	case x < 92:
		return 2
	default:
		return 3
	}
}

func scopeName(s service, k kind, gen int) (string, string) {
	switch k {
	case kServer:
		if s.lang == "python" {
			return "opentelemetry.instrumentation.fastapi", "0.57b0"
		}
		return "io.opentelemetry.http-server", "2.16.0"
	case kClient:
		return "opentelemetry.instrumentation.httpx", "0.57b0"
	case kDB:
		return "opentelemetry.instrumentation.sqlalchemy", "0.57b0"
	}
	switch gen {
	case 0:
		return "opentelemetry.instrumentation.openai_v2", "2.1b0"
	case 1:
		return "opentelemetry.instrumentation.anthropic", "0.40.14"
	case 2:
		return "opentelemetry.instrumentation.openai", "0.40.14"
	}
	return "openinference.instrumentation.openai", "0.1.30"
}

func (g *Gen) duration(k kind) time.Duration {
	switch k {
	case kDB:
		return time.Duration(200+g.r.IntN(30000)) * time.Microsecond
	case kCompletion:
		return time.Duration(300+g.r.IntN(11700)) * time.Millisecond
	}
	return time.Duration(5+g.r.IntN(300)) * time.Millisecond
}

// resource writes what an SDK with resource detectors writes: 13 attributes.
func (g *Gen) resource(m pcommon.Map, s service) {
	m.EnsureCapacity(13)
	m.PutStr("service.name", s.name)
	m.PutStr("service.version", s.version)
	m.PutStr("service.namespace", "shop")
	m.PutStr("service.instance.id", g.UUID())
	m.PutStr("deployment.environment.name", "production")
	m.PutStr("telemetry.sdk.name", "opentelemetry")
	m.PutStr("telemetry.sdk.language", s.lang)
	m.PutStr("telemetry.sdk.version", s.sdk)
	m.PutStr("host.name", s.host)
	m.PutStr("k8s.pod.name", s.host)
	m.PutStr("k8s.namespace.name", "shop-prod")
	m.PutStr("cloud.region", regions[g.r.IntN(len(regions))])
	m.PutInt("process.pid", int64(1+g.r.IntN(60000)))
}

// extra returns how many attributes past the first 8 a span gets: 0 to 7.
func (g *Gen) extra() int { return g.r.IntN(8) }

func (g *Gen) server(span ptrace.Span) {
	method := g.method()
	route := httpRoutes[g.r.IntN(len(httpRoutes))]
	span.SetName(method + " " + route)
	span.SetKind(ptrace.SpanKindServer)
	m := span.Attributes()
	n := 8 + g.extra()
	m.EnsureCapacity(n)
	m.PutStr("http.request.method", method)
	m.PutStr("url.path", g.fillRoute(route))
	m.PutStr("url.scheme", "https")
	m.PutStr("http.route", route)
	m.PutInt("http.response.status_code", g.status())
	m.PutStr("server.address", "api.shop.example.com")
	m.PutInt("server.port", 443)
	m.PutStr("network.protocol.version", "1.1")
	more := []func(){
		func() { m.PutStr("user_agent.original", userAgents[g.r.IntN(len(userAgents))]) },
		func() { m.PutStr("client.address", g.ipv4()) },
		func() { m.PutStr("network.peer.address", g.ipv4()) },
		func() { m.PutInt("network.peer.port", int64(30000+g.r.IntN(30000))) },
		func() { m.PutInt("http.request.body.size", int64(g.r.IntN(4096))) },
		func() { m.PutInt("http.response.body.size", int64(g.r.IntN(65536))) },
		func() { m.PutStr("url.query", "page="+strconv.Itoa(1+g.r.IntN(9))+"&limit=20") },
	}
	for _, f := range more[:n-8] {
		f()
	}
}

func (g *Gen) client(span ptrace.Span) {
	method := g.method()
	host := downstreams[g.r.IntN(len(downstreams))]
	span.SetName(method)
	span.SetKind(ptrace.SpanKindClient)
	m := span.Attributes()
	n := 8 + g.extra()
	m.EnsureCapacity(n)
	path := "/v1/items/" + strconv.Itoa(g.r.IntN(1_000_000))
	m.PutStr("http.request.method", method)
	m.PutStr("url.full", "http://"+host+":8080"+path)
	m.PutStr("server.address", host)
	m.PutInt("server.port", 8080)
	m.PutInt("http.response.status_code", g.status())
	m.PutStr("network.protocol.version", "1.1")
	m.PutStr("network.peer.address", g.ipv4())
	m.PutStr("url.scheme", "http")
	more := []func(){
		func() { m.PutInt("http.resend_count", 0) },
		func() { m.PutInt("network.peer.port", 8080) },
		func() { m.PutStr("user_agent.original", "python-httpx/0.27.0") },
		func() { m.PutInt("http.request.body.size", int64(g.r.IntN(2048))) },
		func() { m.PutInt("http.response.body.size", int64(g.r.IntN(32768))) },
		func() { m.PutStr("url.path", path) },
		func() { m.PutStr("network.transport", "tcp") },
	}
	for _, f := range more[:n-8] {
		f()
	}
}

func (g *Gen) db(span ptrace.Span) {
	d := dbs[g.r.IntN(len(dbs))]
	span.SetName(d.op + " " + d.namespace + "." + d.collection)
	span.SetKind(ptrace.SpanKindClient)
	m := span.Attributes()
	n := 8 + g.extra()
	m.EnsureCapacity(n)
	m.PutStr("db.system.name", d.system)
	m.PutStr("db.namespace", d.namespace)
	m.PutStr("db.operation.name", d.op)
	m.PutStr("db.collection.name", d.collection)
	m.PutStr("db.query.text", d.query)
	m.PutStr("server.address", d.system+"-primary.db.internal")
	m.PutInt("server.port", 5432)
	m.PutStr("network.peer.address", g.ipv4())
	more := []func(){
		func() { m.PutInt("network.peer.port", 5432) },
		func() { m.PutStr("db.query.summary", d.op+" "+d.collection) },
		func() { m.PutInt("db.response.returned_rows", int64(g.r.IntN(50))) },
		func() { m.PutStr("db.client.connection.pool.name", "main") },
		func() { m.PutStr("code.function.name", codeFunctions[g.r.IntN(len(codeFunctions))]) },
		func() { m.PutInt("thread.id", int64(1+g.r.IntN(64))) },
		func() { m.PutStr("thread.name", "worker-"+strconv.Itoa(g.r.IntN(16))) },
	}
	for _, f := range more[:n-8] {
		f()
	}
}

// completion writes an LLM completion span the way an instrumentation of
// the given generation does, 11 to 13 attributes, and returns which of its
// attributes carry per-call ids.
func (g *Gen) completion(span ptrace.Span, gen int) idKeys {
	md := models[g.r.IntN(len(models))]
	in, out := int64(50+g.r.IntN(4000)), int64(10+g.r.IntN(1000))
	finish := finishReasons[g.r.IntN(len(finishReasons))]
	span.SetKind(ptrace.SpanKindClient)
	m := span.Attributes()
	m.EnsureCapacity(13)
	var keys idKeys
	keys.provider = md.provider
	switch gen {
	case 0: // semantic conventions 1.37+
		span.SetName("chat " + md.request)
		m.PutStr("gen_ai.operation.name", "chat")
		m.PutStr("gen_ai.provider.name", md.provider)
		m.PutStr("gen_ai.request.model", md.request)
		m.PutStr("gen_ai.response.model", md.response)
		m.PutStr("gen_ai.response.id", g.responseID(md.provider))
		m.PutInt("gen_ai.usage.input_tokens", in)
		m.PutInt("gen_ai.usage.output_tokens", out)
		m.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr(finish)
		m.PutDouble("gen_ai.request.temperature", 0.7)
		m.PutInt("gen_ai.request.max_tokens", 1024)
		m.PutStr("server.address", md.server)
		m.PutInt("server.port", 443)
		keys.response = "gen_ai.response.id"
		if g.r.IntN(10) < 7 {
			m.PutStr("gen_ai.conversation.id", g.UUID())
			keys.conversation = "gen_ai.conversation.id"
		}
	case 1: // older semantic conventions: gen_ai.system, 1.26 token names
		span.SetName("chat " + md.request)
		m.PutStr("gen_ai.system", md.provider)
		if g.r.IntN(2) == 0 {
			m.PutStr("gen_ai.operation.name", "chat")
		}
		m.PutStr("gen_ai.request.model", md.request)
		m.PutStr("gen_ai.response.model", md.response)
		m.PutStr("gen_ai.response.id", g.responseID(md.provider))
		m.PutInt("gen_ai.usage.prompt_tokens", in)
		m.PutInt("gen_ai.usage.completion_tokens", out)
		m.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr(finish)
		m.PutDouble("gen_ai.request.temperature", 0.2)
		m.PutDouble("gen_ai.request.top_p", 1)
		m.PutStr("server.address", md.server)
		m.PutInt("server.port", 443)
		keys.response = "gen_ai.response.id"
	case 2: // OpenLLMetry / Traceloop
		span.SetName("openai.chat")
		m.PutStr("llm.request.type", "chat")
		m.PutStr("gen_ai.system", "OpenAI")
		m.PutStr("gen_ai.request.model", md.request)
		m.PutStr("gen_ai.response.model", md.response)
		m.PutStr("gen_ai.response.id", g.responseID(md.provider))
		m.PutInt("gen_ai.usage.prompt_tokens", in)
		m.PutInt("gen_ai.usage.completion_tokens", out)
		m.PutInt("llm.usage.total_tokens", in+out)
		m.PutBool("llm.is_streaming", false)
		m.PutStr("gen_ai.openai.api_base", "https://"+md.server+"/v1/")
		m.PutStr("llm.completions.0.finish_reason", finish)
		m.PutStr("traceloop.association.properties.session_id", g.UUID())
		keys.response = "gen_ai.response.id"
		keys.conversation = "traceloop.association.properties.session_id"
	default: // OpenInference
		span.SetName("ChatCompletion")
		m.PutStr("openinference.span.kind", "LLM")
		m.PutStr("llm.model_name", md.response)
		m.PutStr("llm.provider", md.provider)
		m.PutStr("llm.system", md.provider)
		m.PutInt("llm.token_count.prompt", in)
		m.PutInt("llm.token_count.completion", out)
		m.PutInt("llm.token_count.total", in+out)
		m.PutStr("llm.invocation_parameters", `{"temperature":0.7,"max_tokens":1024,"stream":false}`)
		m.PutStr("input.value", prompts[g.r.IntN(len(prompts))])
		m.PutStr("input.mime_type", "application/json")
		m.PutStr("output.value", answers[g.r.IntN(len(answers))])
		m.PutStr("output.mime_type", "text/plain")
		if g.r.IntN(10) < 7 {
			m.PutStr("session.id", g.UUID())
			keys.conversation = "session.id"
		}
	}
	return keys
}

func (g *Gen) method() string {
	switch x := g.r.IntN(10); {
	case x < 6:
		return "GET"
	case x < 9:
		return "POST"
	}
	return "PUT"
}

func (g *Gen) status() int64 {
	switch x := g.r.IntN(100); {
	case x < 88:
		return 200
	case x < 93:
		return 201
	case x < 97:
		return 404
	case x < 99:
		return 400
	}
	return 500
}

func (g *Gen) fillRoute(route string) string {
	out := make([]byte, 0, len(route)+8)
	for i := 0; i < len(route); i++ {
		if route[i] != '{' {
			out = append(out, route[i])
			continue
		}
		for i < len(route) && route[i] != '}' {
			i++
		}
		out = strconv.AppendInt(out, int64(g.r.IntN(10_000_000)), 10)
	}
	return string(out)
}

func (g *Gen) ipv4() string {
	return "10." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(1+g.r.IntN(254))
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (g *Gen) base62(prefix string, n int) string {
	b := make([]byte, len(prefix)+n)
	copy(b, prefix)
	for i := len(prefix); i < len(b); i++ {
		b[i] = base62[g.r.IntN(len(base62))]
	}
	return string(b)
}

// responseID has the shape each provider's API returns: chatcmpl-<29> for
// OpenAI (38 bytes), msg_01<22> for Anthropic (28), a UUID for Bedrock.
func (g *Gen) responseID(provider string) string {
	switch provider {
	case "openai":
		return g.base62("chatcmpl-", 29)
	case "anthropic":
		return g.base62("msg_01", 22)
	case "aws.bedrock":
		return g.UUID()
	}
	return g.base62("", 24)
}

// UUID returns a random version 4 UUID in its 36-character form.
func (g *Gen) UUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], g.r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], g.r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func (g *Gen) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	binary.LittleEndian.PutUint64(id[:8], g.r.Uint64())
	binary.LittleEndian.PutUint64(id[8:], g.r.Uint64()|1)
	return id
}

func (g *Gen) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	binary.LittleEndian.PutUint64(id[:], g.r.Uint64()|1)
	return id
}

// TraceID returns a random, valid trace id.
func (g *Gen) TraceID() pcommon.TraceID { return g.traceID() }

// SpanID returns a random, valid span id.
func (g *Gen) SpanID() pcommon.SpanID { return g.spanID() }

// IntN returns a number in [0, n) from the generator's source.
func (g *Gen) IntN(n int) int { return g.r.IntN(n) }

// OwnTraces gives every completion span of b a trace of its own, as in an
// app whose requests make one LLM call each.
func (g *Gen) OwnTraces(b *Batch) {
	for i, span := range b.spans {
		span.SetTraceID(g.traceID())
		b.Completions[i].TraceID = span.TraceID()
	}
}
