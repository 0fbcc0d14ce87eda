# camcloud: edge agent, relay and simulated cameras. `make help` lists the targets.
GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/opencamcloud/camcloud/internal/buildinfo.Version=$(VERSION)
FUZZTIME ?= 4s
RUN_DIR  ?= .run
CAMERAS  ?= 4

# Tests that need an outside tool (ffprobe, unshare) fail instead of skipping when it is missing.
export CAMCLOUD_REQUIRE_TOOLS ?= 1

.PHONY: help build run test unit fuzz lint bench cross clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build relay, edgehost, devicehost and camsim into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

run: build ## start the system on loopback: relay, simulated cameras, an enrolled edge host
	@BIN=$(BIN) RUN_DIR=$(RUN_DIR) CAMERAS=$(CAMERAS) scripts/run.sh

test: lint unit fuzz ## every test: lint, unit and integration tests with -race, short fuzz runs

unit: ## go test -race ./..., then the load tests that the race detector would slow to a crawl
	@echo "unit and integration tests with the race detector: 10 to 20 minutes, quiet until each package ends"
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -timeout 5m -run 'TestRelayServesWhileConnectionsStall' ./internal/relay/server

fuzz: ## run each fuzz target for FUZZTIME (default 4s)
	@scripts/fuzz.sh $(FUZZTIME)

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: ## print the performance table (each figure beside its baseline)
	@OUT=$(RUN_DIR)/bench.txt scripts/bench.sh

cross: ## build the agents for linux/arm64 and linux/arm (v7)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-arm64/ ./cmd/edgehost ./cmd/devicehost
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-armv7/ ./cmd/edgehost ./cmd/devicehost

clean: ## remove build output and run state
	rm -rf $(BIN) $(RUN_DIR)
