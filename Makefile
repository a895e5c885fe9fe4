# vigil: `make demo` shows the product, `make test` runs every test.
SHELL        := /bin/bash
GO           ?= go
VERSION      ?= $(shell scripts/version.sh)
LDFLAGS      := -X main.version=$(VERSION)
BIN          := bin/vigil
TOOLS_DIR    := $(shell scripts/tools.sh --print-dir)
FUZZTIME     ?= 10m
E2E_TIMEOUT  ?= 60m

DIST         ?= dist
# lint's vet and the e2e suite (with the vigil binary it builds) compile as
# make image and make release do, without cgo and with -trimpath: one build
# of every dependency serves them all. The unit tests keep cgo for -race.
SHARED_BUILD := CGO_ENABLED=0 GOFLAGS=-trimpath
# Every build of vigil leaves out gRPC's DirectPath (xDS, Envoy's API),
# which the GCS SDK links unless told not to: vigil talks to GCS over its
# JSON API only. A build without the tag works the same, with 20 MB more
# binary and about 45 s more compile per cold build. scripts/release.sh,
# scripts/image.sh and the e2e harness (harness.BuildTags) say the same.
TAGS         := disable_grpc_modules
export GO_TAGS := $(TAGS)

.PHONY: all build release image test unit e2e e2e-only bench faults fuzz demo demo-down fmt lint tools examples-render clean

all: build

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vigil

# Static linux/amd64 and linux/arm64 archives and SHA256SUMS in $(DIST);
# the same commit gives the same bytes.
release:
	GO=$(GO) scripts/release.sh $(DIST) $(VERSION)

# The container image (Dockerfile), built with a local Docker engine (or a
# private dockerd) and saved to $(DIST)/vigil-image.tar.
image:
	GO=$(GO) scripts/image.sh $(DIST) $(VERSION)

# Every test: lint, the unit tests with the race detector, the e2e suite
# on real servers; the last lines say how long each phase took.
# On two cores a cold run is bound by CPU work before the e2e suite can
# start, so only what the suite needs comes first: the tools (servers built
# from Go modules, Debian and npm packages), made while lint runs (lint's
# vet also compiles the e2e suite's dependencies). The unit tests then run
# beside the e2e suite at nice 19: the suite waits on its servers for most
# of its time (0.66 of 2 cores busy on average), and the unit tests' compile
# fills the idle cores without taking CPU the suite asks for. Each side's
# log is printed once both end.
test:
	@scripts/phase.sh reset; mkdir -p .work
	@(scripts/phase.sh start tools; scripts/tools.sh > .work/tools.log 2>&1; echo $$? > .work/tools.rc; scripts/phase.sh end tools) & \
	$(MAKE) --no-print-directory lint; code=$$?; wait; \
	sed 's/^/    /' .work/tools.log; \
	if [ "$$(cat .work/tools.rc)" != 0 ]; then echo "make test: make tools failed (its log is above)" >&2; code=1; fi; \
	if [ $$code = 0 ]; then \
	  (nice -n 19 $(MAKE) --no-print-directory unit > .work/unit.log 2>&1; echo $$? > .work/unit.rc) & \
	  $(MAKE) --no-print-directory e2e-only; code=$$?; wait; \
	  echo "==> make unit (beside the e2e suite, at nice 19)"; cat .work/unit.log; \
	  if [ "$$(cat .work/unit.rc)" != 0 ]; then echo "make test: the unit tests failed (their log is above)" >&2; code=1; fi; \
	fi; \
	scripts/phase.sh report; exit $$code

unit:
	@scripts/phase.sh start unit
	$(GO) test -tags $(TAGS) -race -count=1 ./...
	@# The real-cluster Elasticsearch scenarios run only with ES_URL; say so.
	@# With -race, as above, this reuses the test binary just built: without
	@# it, a cold run compiled plugin's dependencies a third time.
	@$(GO) test -tags $(TAGS) -race -count=1 -run TestESRealCluster -v ./plugin/ | grep -E '^(--- |\s+elasticsearch_real)' || true
	@scripts/phase.sh end unit

# e2e builds the pinned servers first (cached in $(TOOLS_DIR)); e2e-only
# runs the suite on what is built.
e2e: tools
	@$(MAKE) --no-print-directory e2e-only

e2e-only:
	@scripts/phase.sh start e2e
	@# -json only to list the slowest tests at the end; testtimes prints
	@# what plain go test would and fails unless every package passed.
	$(SHARED_BUILD) VIGIL_TOOLS_DIR=$(TOOLS_DIR) $(GO) test -tags e2e,$(TAGS) -count=1 -timeout $(E2E_TIMEOUT) -json ./e2e/... | $(SHARED_BUILD) $(GO) run -tags $(TAGS) ./e2e/cmd/testtimes
	@scripts/phase.sh end e2e

faults: tools
	VIGIL_TOOLS_DIR=$(TOOLS_DIR) VIGIL_FAULTS_LONG=1 $(GO) test -tags e2e,$(TAGS) -count=1 -timeout 90m -run 'Fault' -v ./e2e/

bench: tools build
	VIGIL_TOOLS_DIR=$(TOOLS_DIR) $(GO) run -tags $(TAGS) ./e2e/cmd/bench

fuzz:
	$(GO) test -tags $(TAGS) ./hcl/parse -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
	$(GO) test -tags $(TAGS) ./tasks/manifest -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -fuzzminimizetime 10s

demo: tools build
	VIGIL_TOOLS_DIR=$(TOOLS_DIR) $(GO) run -tags $(TAGS) ./e2e/cmd/demo

demo-down:
	$(GO) run -tags $(TAGS) ./e2e/cmd/demo -down

tools:
	@scripts/phase.sh start tools
	scripts/tools.sh
	@scripts/phase.sh end tools

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) run -tags $(TAGS) ./cmd/vigil fmt examples

lint:
	@scripts/phase.sh start lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(SHARED_BUILD) $(GO) vet -tags $(TAGS) ./...
	$(SHARED_BUILD) $(GO) vet -tags e2e,$(TAGS) ./e2e/...
	$(SHARED_BUILD) $(GO) run -tags $(TAGS) ./cmd/vigil fmt -check examples >/dev/null
	@scripts/phase.sh end lint

# nomad/jobs holds the examples rendered; a unit test keeps it current.
examples-render:
	rm -f nomad/jobs/*.nomad.hcl
	$(GO) run -tags $(TAGS) ./cmd/vigil render -out nomad/jobs examples

clean:
	rm -rf bin
