# kmodsig: `make demo` runs the main job on the embedded sample modules and key;
# `make test` installs the peer tools (as root, with apt-get) and runs every test.
SHELL     := /bin/bash
GO        ?= go
CACHE     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kmodsig
BIN       := bin/kmodsig
STATICCHECK_VERSION := v0.8.2
# FUZZTIME is how long each fuzz target runs: a count of inputs, not a duration, because a
# duration's deadline can fail a target that found nothing ("context deadline exceeded", a
# race in Go's fuzz coordinator, golang.org/issue/75804, fixed in Go 1.27; seen here with 1.26).
FUZZTIME  ?= 20000x
# FUZZMINTIME bounds how long the fuzzer minimises each new interesting input. Go's default
# (60s) let the first find on a module-sized seed take all of FUZZTIME, so the ELF targets
# ran their seeds and almost nothing else.
FUZZMINTIME ?= 200x
IS_ROOT   := $(shell [ "$$(id -u)" = 0 ] && echo 1)
# TAGS: with cgo the binary opens `pkcs11:` keys (build tag pkcs11: crypto11, which loads the
# token's library at run time and needs no headers), and signs RSA and hashes SHA-384/512 with
# the system's libcrypto (build tag openssl: 1.3x faster for RSA-4096, 1.15x for SHA-384,
# byte-identical output) when the OpenSSL headers are there too; pure Go otherwise.
TAGS      ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && { printf pkcs11; [ -f /usr/include/openssl/evp.h ] && printf ,openssl; }; true)

export KMODSIG_CACHE := $(CACHE)

.PHONY: all build demo test peers check unit race pkcs11 openssl fuzz bench clean man completion

all: build

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/kmodsig

demo: build
	./$(BIN) demo

# peers installs ORACLES.md's tools when root; otherwise lists what is missing.
peers:
	./internal/peers/install.sh --kernel

# test: the whole suite. As root (CI) every peer is installed first and a missing peer fails
# the test that needs it instead of skipping it; the Debian corpus and the real kernel run too.
test: peers check unit race pkcs11 openssl fuzz
	@p=$$(grep -c '^ok ' bin/unit.log); f=$$(grep -c '^FAIL' bin/unit.log); \
	 echo "packages: $$p passed, $$f failed"

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

unit:
	@mkdir -p bin
	set -o pipefail; KMODSIG_REQUIRE_PEERS=$(IS_ROOT) KMODSIG_CORPUS=$(or $(KMODSIG_CORPUS),$(IS_ROOT)) \
	KMODSIG_KERNEL_TEST=$(or $(KMODSIG_KERNEL_TEST),$(IS_ROOT)) \
	$(GO) test -count=1 -timeout 60m ./... 2>&1 | tee bin/unit.log

# race: the packages that run work concurrently (batch workers and writers, parallel
# inspect/verify, shared key material) under the race detector.
race:
	$(GO) test -race -count=1 . ./conv ./cmd/kmodsig ./keys ./formats

# openssl: the optional libcrypto RSA signer and SHA-384/512 (build tag openssl) give the same
# bytes as Go and sign-file; the signer's context pool is shared between threads, so their
# tests also run under the race detector.
openssl:
	@if case ",$(TAGS)," in *,openssl,*) true;; *) false;; esac; then \
	  $(GO) vet -tags openssl ./formats/ && \
	  $(GO) test -race -count=1 -tags openssl -run OpenSSL ./formats/ && \
	  KMODSIG_REQUIRE_PEERS=$(IS_ROOT) $(GO) test -count=1 -tags openssl ./formats/ ./pkcs7sig/ ./x509sig/ ./gpgsig/ ./conv/ ./cmd/kmodsig/; \
	else echo "openssl: cgo or the OpenSSL headers (libssl-dev) missing, skipped"; fi

# pkcs11: the `pkcs11:` URI support (cgo, build tag pkcs11) against a SoftHSM2 token; skipped
# when cgo is unavailable (the default build needs no cgo).
pkcs11:
	@if [ "$$($(GO) env CGO_ENABLED)" = 1 ]; then \
	  $(GO) vet -tags pkcs11 ./keys/ ./conv/ && \
	  KMODSIG_REQUIRE_PEERS=$(IS_ROOT) $(GO) test -count=1 -tags pkcs11 -run PKCS11 ./keys/ ./conv/; \
	else echo "pkcs11: cgo not available, skipped"; fi

# fuzz runs every fuzz target briefly (FUZZTIME each): no panics, round trips hold. It prints
# how many inputs each target ran, and fails a target that ran fewer than 1000 (with a
# duration as FUZZTIME): a fuzzer that is stuck (minimising, or on a slow input) proves nothing.
fuzz:
	@set -e; mkdir -p bin; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg >bin/fuzz.log 2>&1 || { cat bin/fuzz.log; exit 1; }; \
	    n=$$(grep -o 'execs: [0-9]*' bin/fuzz.log | tail -1 | cut -d' ' -f2); \
	    echo "fuzz $$pkg $$f: $${n:-0} inputs"; \
	    [ "$${n:-0}" -ge 1000 ] || { cat bin/fuzz.log; echo "fuzz: $$f ran $${n:-0} inputs in $(FUZZTIME)"; exit 1; }; \
	  done; \
	done

bench: build
	./bench/run.sh

# man writes the man page generated from the command line, dated by the last commit (or
# SOURCE_DATE_EPOCH) so that the same sources give the same page; completion prints how to enable
# tab completion (also: `kmodsig completion -c bash|zsh|fish`).
man: build
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)} ./$(BIN) --man > bin/kmodsig.1
	@echo "man -l bin/kmodsig.1"

completion: build
	./$(BIN) completion

clean:
	rm -rf bin
