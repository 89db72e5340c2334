# Vigil — build, test and run. `make help` lists the targets.
GO        ?= go
BIN       := bin
PLUGINS   := system process net
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
# Release-style builds: no cgo, no debug symbols, no gRPC tracing: smaller
# binaries hash faster at launch and keep less resident (docs/performance.md).
BUILD_FLAGS := -trimpath -tags grpcnotrace
LDFLAGS     := -s -w -X main.version=$(VERSION)
RUN_DIR   ?= .vigil-run
# Pinned generator versions for `make proto` (protoc itself: Debian's protobuf-compiler).
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1

.PHONY: help build run test test-short bench bench-idle bench-ingest proto fmt lint clean

help:
	@echo "make run     a local registry with the first-party plugins published and approved, and an agent installing them and shipping to it (Ctrl-C stops both)"
	@echo "make test    every test: unit, fuzz seeds, plugins over real go-plugin, end-to-end with real binaries"
	@echo "make bench   benchmarks (figures: docs/performance.md); make bench-idle: idle RSS and CPU"
	@echo "make bench-ingest  registry ingest vs InfluxDB 1.6, and the 1,000-agent soak"
	@echo "make build   binaries into $(BIN)/"
	@echo "make proto   regenerate sdk/proto with pinned generators"
	@echo "make fmt | lint | clean"

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/vigil ./agent/cmd/vigil
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/vigil-registry ./registry/cmd/vigil-registry
	@for p in $(PLUGINS); do \
		echo "CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -ldflags '-s -w' -o $(BIN)/vigil-plugin-$$p ./plugins/$$p"; \
		CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -ldflags '-s -w' -o $(BIN)/vigil-plugin-$$p ./plugins/$$p || exit 1; \
	done

# The main job on embedded defaults (scripts/run.sh): a local registry, the
# first-party plugins published, evaluated and approved into it, installed
# with `vigil install` into a local agent, and the agent shipping its points
# to the registry. Everything lives in $(RUN_DIR); Ctrl-C stops both.
run: build
	BIN=$(BIN) RUN_DIR=$(RUN_DIR) PLUGINS="$(PLUGINS)" bash scripts/run.sh

test:
	$(GO) test -race -count=1 ./...
	cd sdk && $(GO) test -race -count=1 ./...
	cd examples/hello && $(GO) test -race -count=1 ./...

test-short:
	$(GO) test -short ./... && cd sdk && $(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./agent/... ./plugins/... ./internal/... ./registry/...
	cd sdk && $(GO) test -run '^$$' -bench . -benchmem ./...

# Idle RSS and CPU of the agent and the first-party plugins (about 80 s).
bench-idle: build
	$(GO) run ./test/bench/idle --vigil $(CURDIR)/$(BIN)/vigil \
		--system-plugin $(CURDIR)/$(BIN)/vigil-plugin-system --process-plugin $(CURDIR)/$(BIN)/vigil-plugin-process \
		--net-plugin $(CURDIR)/$(BIN)/vigil-plugin-net

# Ingest throughput against a real InfluxDB 1.6, the registry with the
# embedded store and the registry forwarding to InfluxDB (about 5 min),
# then the 1,000-agent soak (about 3 min). Figures: docs/performance.md.
bench-ingest:
	$(GO) run ./test/bench/ingest --duration 30s
	$(GO) run ./test/bench/ingest --soak --duration 2m

proto:
	$(GO) install $(PROTOC_GEN_GO)
	$(GO) install $(PROTOC_GEN_GO_GRPC)
	cd sdk/proto/vigilv1 && PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc \
		--go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative vigil.proto

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...
	cd examples/hello && $(GO) vet ./...

clean:
	rm -rf $(BIN) $(RUN_DIR)
