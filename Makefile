# Everything here needs only Go and make; tools are pinned and installed into ./bin.
GO       ?= go
BIN      := $(CURDIR)/bin
OCB      := $(BIN)/builder
OCB_VER  := v0.161.0
OTELCOL  := $(BIN)/otelcol-llmfeedback
SOURCES  := $(shell find . -name '*.go' -not -path './_build/*' -not -path './examples/*' -not -path './sdk/*') go.mod go.sum builder-config.yaml

.PHONY: build run test demo bench generate clean fuzz flood

build: $(OTELCOL)

$(OCB):
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VER)

$(OTELCOL): $(OCB) $(SOURCES)
	mkdir -p _build
	$(OCB) --config builder-config.yaml
	mkdir -p $(BIN)
	cp _build/otelcol-llmfeedback/otelcol-llmfeedback $(OTELCOL)

run: build
	$(OTELCOL) --config config.yaml

# Unit, golden-file and lifecycle tests, then the end-to-end tests against the
# built collector; the same for the Go helper module (sdk/go) and the demo's.
test: build
	$(GO) vet ./...
	cd sdk/go && $(GO) vet ./...
	cd cmd/demo && $(GO) vet ./...
	OTELCOL_BIN=$(OTELCOL) $(GO) test -race -count=1 ./...
	cd sdk/go && OTELCOL_BIN=$(OTELCOL) $(GO) test -race -count=1 ./...

# The whole point on one screen: a simulated chat app sends spans and feedback
# to the collector (config.yaml), then the enriched feedback is printed.
demo: build
	cd cmd/demo && $(GO) run . -collector $(OTELCOL) -config $(CURDIR)/config.yaml

# Benchmarks against their floors, memory figures, and the load test of the
# built collector with and without llm_feedback (about 5.5 minutes on 2 cores;
# not in CI). Prints the BENCH lines last.
bench: build
	OTELCOL_BIN=$(OTELCOL) GO=$(GO) scripts/bench.sh

# Fuzz targets, FUZZTIME each (not in CI). Seed corpora live in testdata/fuzz.
FUZZTIME ?= 2m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzFromSpan$$' -fuzztime $(FUZZTIME) ./internal/genai
	$(GO) test -run '^$$' -fuzz '^FuzzParseTraceID$$' -fuzztime $(FUZZTIME) ./internal/feedback
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/feedback

# The built collector with storage under retrying OTLP clients, a backend
# that refuses 30% of requests and SIGKILLs at random moments (about 3.5
# minutes; not in CI, where TestChaosShort runs a short one). Prints the CHAOS
# line last and fails when feedback was lost or duplicated other than with
# the same id across a SIGKILL. CHAOS_FLAGS adds options (go run ./cmd/chaos -h).
.PHONY: chaos
chaos: build
	$(GO) run ./cmd/chaos -collector $(OTELCOL) $(CHAOS_FLAGS)

# Memory under hostile volumes, in process (not in CI; about 15 s).
flood:
	$(GO) run ./cmd/flood

# mdatagen derives the Go package name from the folder name, so it runs through
# a link named after the package: the output is the same in any checkout.
generate:
	tmp=$$(mktemp -d) && ln -s $(CURDIR) $$tmp/llmfeedbackprocessor && \
	  (cd $$tmp/llmfeedbackprocessor && $(GO) tool -modfile=internal/tools/go.mod mdatagen $$tmp/llmfeedbackprocessor/metadata.yaml); \
	  rc=$$?; rm -rf $$tmp; exit $$rc

clean:
	rm -rf _build $(OTELCOL)
