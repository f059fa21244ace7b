# tightnet — common tasks. `make help` lists them.
GO       ?= go
BIN      ?= bin
FUZZTIME ?= 30s
IMAGES   ?= dist/images
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
PLATFORMS ?= linux/amd64,linux/arm64
BENCHTIME ?= 3x

.PHONY: help build test bench fuzz lint golden images push kube-apiserver

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-9s %s\n", $$1, $$2}'

build: ## build the CLI and every stage binary into ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./images/...

kube-apiserver: ## build (once, cached) the real API server the live-cluster tests start
	@tools/kube-apiserver/build

test: ## run every test (the README's test command)
	$(GO) test ./...

bench: ## print speed and peak-memory figures, one process per size
	@for size in 'workloads=1000/policies=500' 'workloads=5000/policies=10000' 'workloads=5000/policies=10000\+admin=24'; do \
		$(GO) test -run='^$$' -bench="^BenchmarkConnectivity$$/^$$size$$" -benchtime=$(BENCHTIME) ./internal/analyze | grep -E '^Benchmark'; \
	done
	@for size in 'workloads=1000/policies=500' 'workloads=5000/policies=10000'; do \
		$(GO) test -run='^$$' -bench="^BenchmarkConnectivityCommand$$/^$$size$$" -benchtime=$(BENCHTIME) ./internal/stage | grep -E '^Benchmark'; \
	done
	@$(GO) test -run='^$$' -bench='^BenchmarkDiff$$' -benchtime=$(BENCHTIME) ./internal/diff | grep -E '^Benchmark'
	@for size in 'workloads=1000/policies=500' 'workloads=5000/policies=10000'; do \
		$(GO) test -run='^$$' -bench="^BenchmarkDiff$$/^$$size$$" -benchtime=$(BENCHTIME) ./internal/stage | grep -E '^Benchmark'; \
	done
	@$(GO) test -run='^$$' -bench='^BenchmarkSynthesize$$' -benchtime=$(BENCHTIME) ./internal/synth | grep -E '^Benchmark'
	@$(GO) test -run='^$$' -bench='^BenchmarkExtract$$' -benchtime=$(BENCHTIME) ./internal/extract | grep -E '^Benchmark'
	@$(GO) test -run='^$$' -bench='^BenchmarkExtractCommand$$' -benchtime=$(BENCHTIME) ./internal/stage | grep -E '^Benchmark'
	@TIGHTNET_KUBE_APISERVER="$$(tools/kube-apiserver/build)" $(GO) test -run='^$$' -bench='^BenchmarkRead$$' -benchtime=$(BENCHTIME) ./internal/cluster | grep -E '^Benchmark'
	@TIGHTNET_KUBE_APISERVER="$$(tools/kube-apiserver/build)" $(GO) test -run='^$$' -bench='^BenchmarkApply$$' -benchtime=$(BENCHTIME) ./internal/apply | grep -E '^Benchmark'

fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in ./internal/model ./internal/manifest ./internal/extract; do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

lint: ## gofmt and go vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

GOLDEN_PKGS = ./internal/model ./internal/manifest ./internal/analyze ./internal/firewall ./internal/extract ./internal/stage ./examples

golden: ## rewrite golden files after an intended output change; review the diff
	$(GO) test $(GOLDEN_PKGS) -update

images: ## build every image (no Docker) into ./dist/images: OCI layout + tarballs
	$(GO) run ./images/builder --out $(IMAGES) --version $(VERSION) --revision $(REVISION) --platforms $(PLATFORMS)

push: ## build, push to REGISTRY=host/repo and pin tasks/, pipelines/, actions/ to digests
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=host/repo"; exit 2; }
	$(GO) run ./images/builder --out $(IMAGES) --version $(VERSION) --revision $(REVISION) --platforms $(PLATFORMS) --push $(REGISTRY) --rewrite
