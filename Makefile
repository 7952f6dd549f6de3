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

# The newest release the module proxy serves: the collector ocb builds with it
# (builder-config-v0165.yaml), and go.mod with every collector module raised to
# it (scripts/gomod-release.sh), for `go test -modfile`. Components that
# release lacks are left out of its build; its tests skip only what needs them
# (OTELCOL_MISSING, kind:type) and say so.
NEW_CORE    := v0.165.0
NEW_STABLE  := v1.71.0
NEW_CONTRIB := v0.165.1
OCB_NEW     := $(BIN)/ocb-$(NEW_CORE)/builder
OTELCOL_NEW := $(BIN)/otelcol-llmfeedback-v0165
MODFILE_NEW := $(CURDIR)/_build/gomod-v0165/go.mod
MISSING_NEW := exporter:file exporter:load_balancing connector:signal_to_metrics connector:count processor:transform

.PHONY: build build-v0165 run lint fmt test demo bench generate check-generated clean fuzz flood

build: $(OTELCOL)

build-v0165: $(OTELCOL_NEW)

$(OCB):
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VER)

$(OCB_NEW):
	GOBIN=$(dir $(OCB_NEW)) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(NEW_CORE)

$(OTELCOL): $(OCB) $(SOURCES)
	mkdir -p _build
	$(OCB) --config builder-config.yaml
	mkdir -p $(BIN)
	cp _build/otelcol-llmfeedback/otelcol-llmfeedback $(OTELCOL)

# ocb's go.mod raises llm_feedback's own collector requirements to the
# release's; the last line checks that the binary really has them.
$(OTELCOL_NEW): $(OCB_NEW) $(SOURCES) builder-config-v0165.yaml
	mkdir -p _build
	$(OCB_NEW) --config builder-config-v0165.yaml
	mkdir -p $(BIN)
	cp _build/otelcol-llmfeedback-v0165/otelcol-llmfeedback $(OTELCOL_NEW)
	$(GO) version -m $(OTELCOL_NEW) | grep -E 'go.opentelemetry.io/collector/processor\s+$(NEW_STABLE)\s'

$(MODFILE_NEW): go.mod go.sum scripts/gomod-release.sh
	GO=$(GO) scripts/gomod-release.sh $(MODFILE_NEW) $(NEW_CORE) $(NEW_STABLE) $(NEW_CONTRIB)

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
# (sdk/go): once at the pinned release, once at the newest.
test: lint check-generated build build-v0165 $(MODFILE_NEW)
	@echo "== collector $(OCB_VER): tests with go.mod, end-to-end against $(OTELCOL)"
	OTELCOL_BIN=$(OTELCOL) $(GOTEST) -race -count=1 ./...
	@echo "== allocation tests, which the race detector's sync.Pool defeats, without -race"
	$(GOTEST) -count=1 -run '^TestTracesPathWithWaitingFeedbackAllocatesNothing$$' .
	cd sdk/go && OTELCOL_BIN=$(OTELCOL) $(GOTEST) -race -count=1 ./...
	@echo "== collector $(NEW_CORE): tests with go.mod raised to it, end-to-end against $(OTELCOL_NEW)"
	OTELCOL_BIN=$(OTELCOL_NEW) OTELCOL_MISSING="$(MISSING_NEW)" $(GOTEST) -race -count=1 -modfile=$(MODFILE_NEW) ./...
	cd sdk/go && OTELCOL_BIN=$(OTELCOL_NEW) $(GOTEST) -race -count=1 ./...

# The whole point on one screen: a simulated chat app sends spans and feedback
# to the collector (config.yaml), then the enriched feedback is printed.
demo: build
	cd cmd/demo && $(GO) run . -collector $(OTELCOL) -config $(CURDIR)/config.yaml

# Benchmarks against their floors, memory figures, and the load test of a
# collector built with llm_feedback and the contrib processors it is compared
# with (scripts/builder-bench.yaml; about 22 minutes on 2 cores; not in CI).
# Prints the BENCH lines last.
BENCH_OTELCOL := $(BIN)/otelcol-bench

bench: $(BENCH_OTELCOL)
	OTELCOL_BIN=$(BENCH_OTELCOL) GO=$(GO) scripts/bench.sh

$(BENCH_OTELCOL): $(OCB) $(SOURCES) scripts/builder-bench.yaml
	mkdir -p _build
	$(OCB) --config scripts/builder-bench.yaml
	mkdir -p $(BIN)
	cp _build/otelcol-bench/otelcol-bench $(BENCH_OTELCOL)

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

# The files mdatagen writes from metadata.yaml must be what it writes now:
# it runs on a copy of the sources, and the copy's files are compared with
# these.
GENERATED := documentation.md generated_component_test.go generated_package_test.go internal/metadata internal/metadatatest
check-generated:
	tmp=$$(mktemp -d) && copy=$$tmp/llmfeedbackprocessor && mkdir $$copy && \
	  ( git ls-files -z | xargs -0 -r cp --parents -t $$copy && \
	    test -f $$copy/metadata.yaml && rm -rf $(addprefix $$copy/,$(GENERATED)) && \
	    cd $$copy && $(GO) tool -modfile=internal/tools/go.mod mdatagen $$copy/metadata.yaml && cd $(CURDIR) && \
	    for f in $(GENERATED); do \
	      diff -r -u $$f $$copy/$$f || { echo "check-generated: $$f is not what mdatagen writes from metadata.yaml; run make generate" >&2; exit 1; }; \
	    done ); \
	  rc=$$?; rm -rf $$tmp; exit $$rc

clean:
	rm -rf _build $(OTELCOL) $(OTELCOL_NEW)
