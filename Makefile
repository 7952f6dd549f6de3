# Everything here needs only Go and make; tools are pinned and installed into ./bin.
GO       ?= go
BIN      := $(CURDIR)/bin
OCB      := $(BIN)/builder
OCB_VER  := v0.161.0
OTELCOL  := $(BIN)/otelcol-llmfeedback
SOURCES  := $(shell find . -name '*.go' -not -path './_build/*' -not -path './examples/*' -not -path './sdk/*') go.mod go.sum builder-config.yaml

.PHONY: build run test generate lint clean

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

# Unit, golden-file and lifecycle tests, then the end-to-end tests against the built collector.
test: build
	$(GO) vet ./...
	OTELCOL_BIN=$(OTELCOL) $(GO) test -race -count=1 ./...

# mdatagen derives the Go package name from the folder name, so it runs through
# a link named after the package: the output is the same in any checkout.
generate:
	tmp=$$(mktemp -d) && ln -s $(CURDIR) $$tmp/llmfeedbackprocessor && \
	  (cd $$tmp/llmfeedbackprocessor && $(GO) tool -modfile=internal/tools/go.mod mdatagen $$tmp/llmfeedbackprocessor/metadata.yaml); \
	  rc=$$?; rm -rf $$tmp; exit $$rc

clean:
	rm -rf _build $(OTELCOL)
