# Warren's make targets. `make run` starts the broker; `make test` runs every test.
GO       ?= go
BIN      := bin
FUZZTIME ?= 30s

.PHONY: all build run test vet generate conformance conformance-rabbitmq clients crash-test fuzz clean perf bench-compare

all: build

build:
	$(GO) build -o $(BIN)/warren ./cmd/warren

# The broker with its defaults: AMQP on 0.0.0.0:5672, data in ./data, guest/guest from loopback.
run: build
	./$(BIN)/warren --listen 0.0.0.0:5672 --data-dir ./data

# Every test, with the race detector (the conformance suite runs against an in-process Warren).
test: vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

generate:
	$(GO) generate ./...

# The conformance suite against an in-process Warren, verbose.
conformance:
	$(GO) test -race -count=1 -v ./conformance/

# The same suite against Debian's RabbitMQ, installed if missing and started on loopback.
conformance-rabbitmq:
	bash conformance/rabbitmq.sh run

# Smoke scripts for pika, kombu, php-amqplib, Node amqplib and rabbitmq-c's tools against
# Warren (their packages are installed if missing); AMQP_URL=... runs them against another broker.
clients:
	bash conformance/clients/run.sh

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	for t in FuzzReadFrame FuzzDecodeMethod FuzzDecodeContentHeader FuzzDecodeTable; do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./amqp/wire/ || exit 1; \
	done

clean:
	rm -rf $(BIN)

# Many kill -9 cycles of the crash tests (make test runs a few): the broker's, and the
# store's while it rebuilds its database.
crash-test:
	WARREN_CRASH_CYCLES=$${WARREN_CRASH_CYCLES:-30} $(GO) test -count=1 -v -run TestCrashKill9 -timeout 60m ./cmd/warren/
	WARREN_REBUILD_CRASH_CYCLES=$${WARREN_REBUILD_CRASH_CYCLES:-30} $(GO) test -count=1 -v -run '^TestRebuildCrash$$' -timeout 60m ./storage/

# warren-perf, the load generator for any AMQP 0-9-1 broker on loopback (cmd/warren-perf).
perf:
	$(GO) build -o $(BIN)/warren-perf ./cmd/warren-perf

# Warren against Debian's RabbitMQ under warren-perf's scenarios; writes docs/BENCHMARKS.md.
# BENCH_REPEATS=1 BENCH_DURATION=5s for a quick run; see bench/compare.sh for the rest.
bench-compare:
	bash bench/compare.sh
