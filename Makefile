# Tessera: `make dev` runs everything locally, `make test` runs every test.
SHELL := /bin/bash
BIN   := $(CURDIR)/.bin
MODULES := gen services tools
export GOFLAGS := -buildvcs=false

.PHONY: all tools generate check-generated lint fmt test test-short bench dev build clean

all: build

## tools: install the pinned dev tools (buf, protoc plugins, golangci-lint) into .bin/
tools: $(BIN)/.stamp
$(BIN)/.stamp: tools/devtools/go.mod tools/devtools/go.sum
	cd tools/devtools && GOWORK=off GOBIN=$(BIN) go install tool
	@touch $@

## generate: regenerate gen/ (Go, gRPC, gateway, OpenAPI) from proto/
generate: tools
	$(BIN)/buf generate
	cd gen && go mod tidy

## check-generated: fail when gen/ differs from what the protos generate
check-generated: generate
	@git diff --exit-code -- gen || (echo "gen/ is stale: run 'make generate' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- gen)" || (git status --porcelain -- gen; echo "untracked files in gen/" >&2; exit 1)

## lint: buf lint + format check, golangci-lint on every hand-written module
lint: tools
	$(BIN)/buf lint
	$(BIN)/buf format -d --exit-code
	cd services && $(BIN)/golangci-lint run ./...
	cd tools && $(BIN)/golangci-lint run ./...

## fmt: format Go (gofumpt via golangci-lint) and protos
fmt: tools
	$(BIN)/buf format -w
	cd services && $(BIN)/golangci-lint fmt ./...
	cd tools && $(BIN)/golangci-lint fmt ./...

## test: every test of every module, with the race detector. Postgres comes from
## DATABASE_URL or a private cluster started from the machine's PostgreSQL binaries.
test:
	@for m in $(MODULES); do (cd $$m && go test -race -count=1 ./...) || exit 1; done

## bench: the golden activation benchmark against the machine's own limits
bench:
	cd services && go test -run '^$$' -bench . -benchtime 3s ./suite/ ./license/licfile/

## dev: run the whole suite locally (see README)
dev:
	cd services && go run ./cmd/tessera dev --dir $(CURDIR)/.tessera

## build: the tessera binary and tessctl into .bin/
build:
	cd services && go build -o $(BIN)/tessera ./cmd/tessera
	cd tools && go build -o $(BIN)/tessctl ./tessctl

clean:
	rm -rf $(BIN) .tessera
