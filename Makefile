# fieldflow: the few targets a user needs. Everything builds from the Go
# module proxy into .cache/ (git-ignored); nothing is downloaded at run time.

MINIO_VERSION := v0.0.0-20250907161309-07c3a429bfed# RELEASE.2025-09-07
BIN           := $(CURDIR)/.cache/bin
MINIO         := $(CURDIR)/.cache/minio-$(strip $(MINIO_VERSION))/minio
export GOFLAGS ?= -buildvcs=false

.PHONY: demo demo-minio test bench generate screenshot build engine local image deploy

## demo: sample data into ./demo, run through the generated Argo templates on Argo's own
## controller (fieldflow-local), then the status table and what the run cost per input; the
## same data through the direct engine (one process, no Argo) first, for its time beside it
demo: engine
	rm -rf demo .cache/local .cache/demo-direct
	$(BIN)/fieldflow sample --store demo --faults
	cp -r demo .cache/demo-direct
	$(BIN)/fieldflow run --engine direct --store .cache/demo-direct --once > .cache/demo-direct.out
	$(BIN)/fieldflow run --store demo --once
	@tail -n 1 .cache/demo-direct.out

## demo-minio: the MinIO path as in a cluster: the pinned MinIO on loopback (data in .cache/demo-minio),
## the bucket irrigation, the engine listening through Argo Events' own EventSource and Sensor on an
## embedded JetStream bus, the sample uploaded in a random order, then the status table
demo-minio: local $(MINIO)
	$(BIN)/fieldflow-local demo-minio --minio $(MINIO)

## test: every test, the integration tests on a real MinIO, Prometheus and Chromium (Debian's
## prometheus package: promtool and the server the dashboard test queries; chromium for Argo's UI),
## and a short fuzz run
test: $(MINIO) local
	@command -v promtool >/dev/null && command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus chromium; }
	FIELDFLOW_MINIO=$(MINIO) FIELDFLOW_REQUIRE_MINIO=1 FIELDFLOW_REQUIRE_PROMETHEUS=1 FIELDFLOW_LOCAL_E2E=1 FIELDFLOW_LOCAL_BIN=$(BIN)/fieldflow-local go test -count=1 -timeout 60m ./...
	go test -run=NONE -fuzz=FuzzValidate -fuzztime=30s ./processor/record
	go test -run=NONE -fuzz=FuzzParseKey -fuzztime=20s ./processor/pipeline

## screenshot: docs/argo-ui.png, the README's picture of Argo's UI on the engine, taken by the UI test
screenshot: local
	FIELDFLOW_LOCAL_E2E=1 FIELDFLOW_LOCAL_BIN=$(BIN)/fieldflow-local go test -count=1 -run TestArgoUI ./cmd/fieldflow-local/internal/e2e
	cp .cache/argo-ui-screenshots/waiting-field.png docs/argo-ui.png

## generate: render templates/, argo-events/ and kustomize/ from the pipeline definition and generator/fieldflow.yaml
generate:
	go run ./cmd/fieldflow generate --config generator/fieldflow.yaml --out .

## bench: fieldflow process (the pods' build) against cat, cat+sync and jq on the same files; upload-to-output
## latency through the local Argo engine (Argo Events on MinIO, its watcher on a folder) against fieldflow
## process by hand. The latency part alone, quickly: make bench BENCH_FLAGS='--cases latency --uploads 3'
BENCH_FLAGS ?=
bench: local $(MINIO)
	@command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
	go run ./cmd/fieldflow-bench --fieldflow $(IMAGE_BIN)/fieldflow-linux-$(shell go env GOARCH) --local $(BIN)/fieldflow-local --minio $(MINIO) $(BENCH_FLAGS)

build:
	@test -x $(BIN)/fieldflow || echo "building fieldflow: first time only, a few minutes"
	go build -o $(BIN)/fieldflow ./cmd/fieldflow

## image: the pod image without Docker (static fieldflow on nothing, non-root) for PLATFORMS: an OCI layout in
## .cache/image/oci, the engine's image store, and docker-save tarballs beside it (minikube image load);
## prints its name and digest. The name is generator/fieldflow.yaml's; the Dockerfile describes the same image.
## Push it: .cache/bin/fieldflow image --push REGISTRY/REPO:TAG (credentials from the Docker config)
PLATFORMS ?= linux/amd64 linux/arm64
COMMIT    := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
IMAGE_BIN := $(CURDIR)/.cache/image/bin
image: build
	@for p in $(PLATFORMS); do echo "building the pod build of fieldflow for $$p"; \
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go build -tags pod -trimpath -ldflags "-s -w -buildid= -X main.commit=$(COMMIT)" \
	    -o $(IMAGE_BIN)/fieldflow-$${p%/*}-$${p#*/} ./cmd/fieldflow || exit 1; done
	$(BIN)/fieldflow image --label org.opencontainers.image.revision=$(COMMIT) \
	  $(foreach p,$(PLATFORMS),--binary $(p)=$(IMAGE_BIN)/fieldflow-$(subst /,-,$(p)))

## deploy: apply kustomize/overlays/minikube to the current kubectl context. Needs a cluster
## (minikube start), the image in it (make image; minikube image load .cache/image/fieldflow-amd64.tar) and
## kustomize/overlays/minikube/.env (copy .env.example). The first apply creates Argo's CRDs;
## objects of those kinds are applied again once the CRDs are established.
MINIKUBE_OVERLAY := kustomize/overlays/minikube
deploy:
	@test -f $(MINIKUBE_OVERLAY)/.env || { echo "copy $(MINIKUBE_OVERLAY)/.env.example to $(MINIKUBE_OVERLAY)/.env and set MinIO's root user"; exit 1; }
	kubectl apply --server-side -k $(MINIKUBE_OVERLAY) || { \
	  kubectl wait --for condition=established --timeout=120s crd --all && \
	  kubectl apply --server-side -k $(MINIKUBE_OVERLAY); }

# The Kubernetes version stamped into kube-apiserver, or clients see v0.0.0.
LOCAL_LDFLAGS := -X k8s.io/component-base/version.gitVersion=v1.33.1

## engine: what the demo runs: fieldflow, the pod image for this machine (the engine runs its
## binary) and the local Argo engine (etcd, kube-apiserver, Argo's controller and the process
## kubelet in one process)
engine: build
	@$(MAKE) --no-print-directory image PLATFORMS=linux/$(shell go env GOARCH)
	@test -x $(BIN)/fieldflow-local || echo "building the local Argo engine fieldflow-local (etcd, kube-apiserver, Argo's controller): first time only, about 5 minutes on 2 cores and 2.7 GB of RAM; packages are listed as they compile"
	go build $(if $(wildcard $(BIN)/fieldflow-local),,-v) -ldflags "$(LOCAL_LDFLAGS)" -o $(BIN)/fieldflow-local ./cmd/fieldflow-local

## local: the engine, its event path on MinIO (fieldflow-events: the JetStream bus, Argo Events'
## EventSource and Sensor) and Argo's own CLI (.cache/bin/argo) to poke at the engine with
local: engine $(BIN)/argo
	@test -x $(BIN)/fieldflow-events || echo "building fieldflow-events (Argo Events' EventSource and Sensor): first time only, a few minutes"
	go build -o $(BIN)/fieldflow-events ./cmd/fieldflow-local/events

# MinIO for the integration tests, built once from the pinned release
# (about 3 minutes and 1.5 GB of RAM the first time).
$(MINIO):
	@echo "building MinIO $(MINIO_VERSION) for the integration tests (first time only, a few minutes)"
	GOBIN=$(dir $@) go install github.com/minio/minio@$(strip $(MINIO_VERSION))

# Argo's UI, built once from the pinned module's own ui/ folder with packages from the npm
# registry, pinned by cmd/fieldflow-local/argo-ui/yarn.lock (see build.sh there).
ARGO_VERSION  := v3.7.3
ARGO_MODULE   := github.com/argoproj/argo-workflows/v3@$(ARGO_VERSION)
ARGO_UI       := $(CURDIR)/.cache/argo-ui-$(ARGO_VERSION)
$(ARGO_UI)/ui/dist/app/index.html: $(wildcard cmd/fieldflow-local/argo-ui/*)
	@echo "building Argo's UI $(ARGO_VERSION) into $(ARGO_UI): first time only, about 3 minutes and 2 GB of RAM"
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	go mod download $(ARGO_MODULE)
	VERSION=$(ARGO_VERSION) cmd/fieldflow-local/argo-ui/build.sh "$$(go env GOMODCACHE)/$(ARGO_MODULE)" $(ARGO_UI)

# Argo's own CLI from the pinned module, with the UI embedded, built once. `go install` refuses
# the module (its go.mod has a replace), and ui/embed.go embeds ui/dist/app, which the module
# zip lacks; so the module is copied out of the module cache (read-only there, and Go refuses
# overlays of it), given the UI and built inside the copy, with its own go.mod and go.sum.
ARGO_SRC      := $(CURDIR)/.cache/argo-src-$(ARGO_VERSION)
$(BIN)/argo: $(ARGO_UI)/ui/dist/app/index.html
	@echo "building Argo's CLI $(ARGO_VERSION) into $@: first time only, about 10 minutes on 2 cores"
	rm -rf $(ARGO_SRC)
	mkdir -p $(dir $(ARGO_SRC))
	go mod download $(ARGO_MODULE)
	cp -r "$$(go env GOMODCACHE)/$(ARGO_MODULE)" $(ARGO_SRC)
	chmod -R u+w $(ARGO_SRC)
	cp -r $(ARGO_UI)/ui/dist $(ARGO_SRC)/ui/
	cd $(ARGO_SRC) && GOFLAGS="-buildvcs=false -mod=mod" go build -ldflags "-X github.com/argoproj/argo-workflows/v3.version=$(ARGO_VERSION)" -o $@ ./cmd/argo
