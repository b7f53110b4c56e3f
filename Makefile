# kcovlab: KCOV end to end in QEMU. `make help` lists the targets.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
KCOVLAB := bin/kcovlab
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# The test targets run go test through gotestsum and end with a summary of
# the failed tests; the full -v output stays in $(TESTLOGS)/TARGET.log.
GOTEST := GO=$(GO) $(dir $(abspath $(firstword $(MAKEFILE_LIST))))scripts/gotest.sh
export TESTLOGS ?= results/test-logs

.PHONY: help deps build run bench bench-pool unit e2e e2e-full e2e-bisect faults mutants lint test clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps: ## install missing host packages (apt) and Go modules
	scripts/host-deps.sh
	$(GO) mod download

build: ## build bin/kcovlab
	$(GO) build -buildvcs=auto -o $(KCOVLAB) ./cmd/kcovlab

run: deps build ## set up the host, then build the v2 CONFIG_KCOV_UNIQUE kernel, boot it and run the core suite (RUNFLAGS=--kernel vanilla ...)
	$(KCOVLAB) run $(RUNFLAGS)

bench: build ## boot a cached kernel under each machine setup, phase by phase, with the cached build numbers (BENCHFLAGS=--boots 5 --json bench.json ...); then the whole suite's stages with trials booted ahead and one after another (SUITEFLAGS=--runs 3 ...)
	$(KCOVLAB) bench boot $(BENCHFLAGS)
	$(KCOVLAB) bench suite $(SUITEFLAGS)

unit: ## unit tests: no QEMU, no kernel (fakes only)
	GOTESTFORMAT=pkgname-and-test-fails $(GOTEST) unit -short -count=1 ./...

e2e: deps ## every test without -short: real kernel builds (cached), QEMU boots, scenarios
	KCOVLAB_E2E=1 $(GOTEST) e2e -count=1 -timeout 85m ./...

e2e-full: deps ## e2e plus the kernels CI builds only when cached (v2-nounique, ...)
	KCOVLAB_E2E_FULL=1 KCOVLAB_E2E=1 $(GOTEST) e2e-full -count=1 -timeout 170m ./...

faults: deps ## fault injection on cached kernels: QEMU killed or stopped, SSH cut, signals, port clash, full disk, bad flags, a panicking kernel, interrupted builds (a v2 mutant, incremental), a bisect whose QEMU dies
	KCOVLAB_E2E=1 $(GOTEST) faults -count=1 -timeout 40m -run 'TestFaults|TestCancelLeavesNoQEMU|TestBuildFaults|TestBisectRetriesKilledQEMU' ./e2e/

mutants: deps build ## the mutation suite on v2: 13 known-bad kcov.c edits, each must turn its judging scenario red (MUTANTFLAGS=--only a,b)
	$(KCOVLAB) mutants $(MUTANTFLAGS)

e2e-bisect: deps ## the series bisect acceptance alone (each step that builds is a kernel build)
	KCOVLAB_E2E_FULL=1 KCOVLAB_E2E=1 $(GOTEST) e2e-bisect -count=1 -timeout 180m -run TestBisectSeries ./e2e/

bench-pool: deps build ## the pool's speed-up: a nightly of vanilla and v2 x every scenario (cached) with --jobs 1 and the default; BENCHFLAGS=--jobs 4
	$(KCOVLAB) bench pool $(BENCHFLAGS)

lint: ## gofmt, go vet, go mod tidy drift, staticcheck, actionlint (the workflows)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml

test: deps lint unit e2e ## everything CI runs: lint, unit tests, end-to-end

clean: ## remove build output and results (the kernel cache stays)
	rm -rf bin results
