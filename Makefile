# Everything here needs only Go and make; tools are pinned and installed into ./bin
# or run with `go tool` from internal/tools/go.mod.
GO       ?= go
BIN      := $(CURDIR)/bin
TOOL     := $(GO) tool -modfile=$(CURDIR)/internal/tools/go.mod
# gotestsum runs go test and closes with the tests skipped and why.
GOTEST   := $(TOOL) gotestsum --format pkgname-and-test-fails --
OCB      := $(BIN)/builder
OCB_VER  := v0.161.0
OTELCOL  := $(BIN)/otelcol-llmfeedback
SOURCES  := $(shell find . -name '*.go' -not -path './_build/*' -not -path './examples/*' -not -path './sdk/*') go.mod go.sum builder-config.yaml

.PHONY: build run lint fmt test demo bench generate clean fuzz flood

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

# gofmt, goimports, go vet and staticcheck over every module (scripts/lint.sh).
lint:
	GO=$(GO) scripts/lint.sh

# What lint's gofmt and goimports would change, changed.
fmt:
	files=$$(find . -name '*.go' -not -path './_build/*' -not -path '*/node_modules/*') && \
	  gofmt -w $$files && \
	  $(TOOL) goimports -local github.com/llm-feedback/llmfeedbackprocessor -w $$(grep -L '^// Code generated .* DO NOT EDIT\.$$' $$files)

# Lint, then unit, golden-file and lifecycle tests and the end-to-end tests
# against the built collector, for the root module and the Go helper module
# (sdk/go).
test: lint build
	OTELCOL_BIN=$(OTELCOL) $(GOTEST) -race -count=1 ./...
	cd sdk/go && OTELCOL_BIN=$(OTELCOL) $(GOTEST) -race -count=1 ./...

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
