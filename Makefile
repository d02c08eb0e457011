# egresslab: build, test, benchmark, lint, cover.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        := ./...
BENCHTIME   ?= 1s

.PHONY: all build image test test-browser test-docker test-squid fuzz-squidconf test-short bench lint cover clean

all: lint test

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/egresslab ./cmd/egresslab

# The Docker image (Dockerfile): FROM scratch with the static binary,
# built locally, nothing pulled.
IMAGE ?= egresslab:dev
image:
	rm -rf bin/image && mkdir -p bin/image/tmp
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/image/egresslab ./cmd/egresslab
	docker build -q -t $(IMAGE) -f Dockerfile bin/image

# The whole suite, with the race detector and shuffled order.
test:
	$(GO) test -race -shuffle=on $(PKGS)

# The tests that drive headless Chromium (Debian: apt-get install chromium),
# through the lab's proxy: the portal (mock) and the dashboard (labserver).
# A missing chromium fails, unless EGRESSLAB_ALLOW_MISSING_TOOLS=1.
test-browser:
	$(GO) test -race -tags browser -run 'Browser|Chromium' ./mock/... ./labserver/...

# The tests that run real Squid (Debian: apt-get install squid) as a
# process on loopback (build tag squid, so that `go test ./...` stays fast).
test-squid:
	$(GO) test -race -tags squid -run Squid ./squidconf/ ./internal/squidtest/

# Fuzz the squid.conf reader (a count, not a duration: golang/go#75804).
fuzz-squidconf:
	$(GO) test -run '^$$' -fuzz FuzzReadBytes -fuzztime 500000x ./squidconf/

# The tests that need Docker: the image is built and run.
test-docker:
	TESTCONTAINERS_RYUK_DISABLED=true $(GO) test -race -tags docker -run Docker -timeout 20m ./internal/cli/... ./tclab/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# gofmt must have nothing to say; go vet and staticcheck (pinned, fetched
# through the Go module proxy) must pass.
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags 'docker browser squid' $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	$(GO) run $(STATICCHECK) -tags 'docker browser squid' $(PKGS)

cover:
	$(GO) test -race -coverprofile=cover.out $(PKGS)
	$(GO) tool cover -func=cover.out | tail -n 1

clean:
	rm -rf bin cover.out
