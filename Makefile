# bwemu: make test runs every spec with the race detector and leak checks.
GO      ?= go
GINKGO  := $(GO) tool ginkgo
BIN     := bin/bwemu

.PHONY: all build test test-all bench bench-load bench-beside soak lint demo release screenshot clean

all: lint test build

build:
	$(GO) build -o $(BIN) ./cmd/bwemu

# Specs labelled "load" take minutes; make test-all includes them.
test:
	$(GINKGO) -r --race --randomize-all --keep-going --timeout=20m --label-filter='!load' --poll-progress-after=60s

test-all:
	$(GINKGO) -r --race --randomize-all --keep-going --timeout=60m

# Paced streams (100 and 1,000 real-time streams against a sink process),
# fast mode against a bare gorilla/websocket loop, the audio sources, and
# the reference consumer's work per media frame.
bench:
	$(GO) test -run='^$$' -bench='Realtime' -benchtime=1x ./emulator/
	$(GO) test -run='^$$' -bench='Fast|Bare' -benchtime=300000x -count=5 ./emulator/
	$(GO) test -run='^$$' -bench=. ./emulator/media/
	$(GO) test -run='^$$' -bench=. -count=3 ./internal/consumer/

# Streams per core against a discarding sink: bwemu's pacer beside a bare
# gorilla/websocket pacer, the yardstick. The sender is pinned to one core,
# the sink (BWEMU_BENCH_SINK_CPU) to another. BWEMU_BENCH_STREAMS (1000) and
# BWEMU_BENCH_SECONDS (10) set the streams and how long each lasts.
bench-load:
	GOMAXPROCS=1 BWEMU_BENCH_SINK_CPU=1 taskset -c 0 $(GO) test -run='^$$' -bench='LoadPacer' -benchtime=1x -timeout=30m ./emulator/

# The same two pacers beside the reference consumer on the same cores, as
# bwemu load and an app share one machine: 60 s streams, nothing pinned.
bench-beside:
	BWEMU_BENCH_APP=consumer BWEMU_BENCH_SECONDS=$${BWEMU_BENCH_SECONDS:-60} $(GO) test -run='^$$' -bench='LoadPacer' -benchtime=1x -timeout=30m ./emulator/

# 500 streams to an app that closes first after stop, with a CPU hog on
# every core: reports the false verdicts (there must be none).
soak:
	$(GO) test -run='^$$' -bench='SoakCloseFirst' -benchtime=500x ./emulator/

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Runs the example scenarios, then streams one second, both against the
# built-in reference consumer.
demo: build
	$(BIN) run scenarios.example.yaml --pace fast
	$(BIN) stream --pace fast

# Release archives of a static bwemu for every platform people run it on,
# with their checksums, in $(DIST). VERSION is what `bwemu version` says.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TARGETS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
DIST    ?= dist
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for t in $(TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; name=bwemu_$(VERSION)_$${os}_$${arch}; exe=bwemu; \
		[ "$$os" = windows ] && exe=bwemu.exe; \
		echo "building $$name"; \
		mkdir -p $(DIST)/$$name; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=auto -ldflags "-s -w -X main.version=$(VERSION)" -o $(DIST)/$$name/$$exe ./cmd/bwemu; \
		cp README.md $(DIST)/$$name/; \
		if [ "$$os" = windows ]; then (cd $(DIST) && zip -qr $$name.zip $$name); \
		else tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name; fi; \
		rm -rf $(DIST)/$$name; \
	done
	cd $(DIST) && sha256sum bwemu_* > SHA256SUMS

# The README's picture of the HTML report (docs/report.png): runs three
# scenarios against a consumer that fails one, writes the report and
# photographs it in headless Chromium (apt-get install -y chromium).
screenshot:
	$(GO) run ./internal/htmlreport/cmd/screenshot -o docs/report.png

clean:
	rm -rf bin dist
