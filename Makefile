# The command surface of worker-operator. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CTEST_ARGS ?=
JOBS ?= $(shell nproc)
export KUBECONFIG ?= $(CURDIR)/.cluster/kubeconfig
# ccache hits across checkouts in different folders (CI clones into a new one each run).
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true

.PHONY: help setup build configure test test-unit test-integration test-e2e soak dist lint lint-quick lint-changed fmt fuzz bench bench-scale demo deploy undeploy kind-e2e clean \
        k8s-build cluster-up cluster-down cluster-wipe images

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install what this machine lacks (Debian packages, Go check); idempotent
	@hack/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD_DIR)/build.ninja ## Configure the CMake build (done by build when needed)

build: $(BUILD_DIR)/build.ninja ## Build both binaries and all tests into build/
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build ## Run every test: unit, integration and e2e (ctest labels)
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-unit: build ## Run the unit tests only
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L '^unit$$' $(CTEST_ARGS)

test-integration: build ## Run the integration tests only (real Postgres, real API server)
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L '^integration$$' $(CTEST_ARGS)

test-e2e: build ## Run the end-to-end suite only (real cluster from hack/)
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L '^e2e$$' $(CTEST_ARGS)

soak: build ## The long soak: 100,000 records, 3 worker processes, kill -9 and terminated connections (about 5 min)
	WO_SOAK_RECORDS=$${WO_SOAK_RECORDS:-100000} WO_SOAK_CONCURRENCY=$${WO_SOAK_CONCURRENCY:-8} \
	  WO_SOAK_WORK=$${WO_SOAK_WORK:-50ms} $(BUILD_DIR)/tests/worker_soak_tests

k8s-build: ## Build the pinned Kubernetes components and etcd (cached; seconds when nothing changed)
	@hack/k8s/build.sh

cluster-up: k8s-build ## Start the local cluster, control plane and node (.cluster/kubeconfig); idempotent
	@hack/cluster-up.sh

images: build cluster-up ## Build the worker and operator images offline and load them into the node
	@hack/images.sh

cluster-down: ## Stop the local cluster, keeping its state in .cluster/
	@hack/cluster-down.sh

cluster-wipe: ## Stop the local cluster and delete its state
	@hack/cluster-down.sh --wipe

dist: build k8s-build ## Release files in dist/: install.yaml and both images as OCI archives (IMG=, WORKER_IMG= rename them)
	@hack/images.sh
	@IMG='$(IMG)' WORKER_IMG='$(WORKER_IMG)' hack/dist.sh

deploy: images ## Install the CRD and the operator in the local cluster (kubectl apply -k manifests/)
	@hack/deploy.sh

undeploy: ## Remove the operator (the CRD and every WorkerJob stay; UNDEPLOY_CRD=1 removes them too)
	@hack/undeploy.sh

kind-e2e: build ## For users with Docker: the e2e suite on a throwaway kind cluster
	@hack/kind-e2e.sh

demo: setup build images ## From nothing to a running system: cluster, Postgres, operator, the sample jobs
	@hack/demo.sh

bench: build cluster-up ## Run the worker and operator benchmarks; writes docs/benchmarks.md and .json
	@BUILD_DIR=$(BUILD_DIR) hack/bench.sh

bench-scale: build cluster-up ## The operator with 1,000 and 5,000 WorkerJobs on kwok's fake nodes (long); adds to docs/benchmarks.*
	@BUILD_DIR=$(BUILD_DIR) hack/bench-scale.sh

lint: $(BUILD_DIR)/build.ninja ## shellcheck over the scripts, clang-format check and clang-tidy over the C++
	@hack/lint.sh $(BUILD_DIR)

lint-quick: ## shellcheck and the clang-format check only (seconds; CI runs it)
	@hack/lint.sh --quick $(BUILD_DIR)

lint-changed: $(BUILD_DIR)/build.ninja ## The quick checks, then clang-tidy on the C++ changed since LINT_BASE (default: merge base)
	@hack/lint.sh --changed $(BUILD_DIR)

fuzz: ## Fuzz the WorkerJob parsers (libFuzzer, ASan, UBSan) for FUZZ_SECONDS (default 60)
	@BUILD_DIR=$(BUILD_DIR) hack/fuzz.sh

fmt: ## Format the project's C++ with clang-format
	@hack/lint.sh --fix

clean: ## Remove build outputs (not the cluster state)
	rm -rf $(BUILD_DIR)
