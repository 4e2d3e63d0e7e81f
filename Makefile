# forgetlens — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
BUILD_FLAGS ?=
BIN_DEBUG := .build/debug/forgetlens
BIN_RELEASE := .build/release/forgetlens
APT_PACKAGES := libopenblas-dev libsqlite3-dev libdnnl-dev

.PHONY: all deps build release install uninstall test demo bench bench-spectra bench-tokenizer bench-engine clean fuzz fuzz-smoke test-asan test-tsan

all: build

# System libraries: installed with apt-get when missing (as root), else the exact command is printed.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing$$missing"; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	  else \
	    echo "Missing system packages. Run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release $(BUILD_FLAGS)

# `make install PREFIX=DIR`: the binary in DIR/bin and the shipped tasks (definitions + data) in
# DIR/share/forgetlens/tasks, where the binary finds them from its own location.
# `make uninstall PREFIX=DIR` removes exactly those two.
PREFIX ?= /usr/local
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/forgetlens/tasks/data
	install -m 755 $(BIN_RELEASE) $(DESTDIR)$(PREFIX)/bin/forgetlens
	install -m 644 tasks/*.yaml tasks/README.md tasks/DATA_SOURCES.md $(DESTDIR)$(PREFIX)/share/forgetlens/tasks/
	install -m 644 tasks/data/* $(DESTDIR)$(PREFIX)/share/forgetlens/tasks/data/
	@echo "Installed $(DESTDIR)$(PREFIX)/bin/forgetlens (tasks in $(DESTDIR)$(PREFIX)/share/forgetlens/tasks)"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/forgetlens
	rm -rf $(DESTDIR)$(PREFIX)/share/forgetlens

test: deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	@# XCTest only: the suites are XCTest (Swift Testing would add an empty "0 tests" summary).
	@# The run's output is kept so that the summary can list every skipped test with its reason.
	@set -o pipefail; $(SWIFT) test --skip-build --disable-swift-testing $(BUILD_FLAGS) 2>&1 | tee .build/test-output.log; \
	  status=$$?; bash scripts/test_summary.sh .build/test-output.log $$status

# The bundled example experiment (examples/, made by scripts/demo/train_demo_models.py with
# torch/transformers/peft/bitsandbytes): a 1M-parameter llama base that learned general English and
# a synthetic world of facts, fine-tuned on arithmetic prose by full fine-tuning (plain, weight
# decay, dropout), LoRA r=4/16/64 and QLoRA r=16, three checkpoints each. `run` evaluates every
# checkpoint on the arithmetic target, the forgetting probes (fact recall, held-out English, the
# standard probes) and sampled continuations (diversity), and computes spectra into
# reports/demo/results.sqlite (resumable);
# `report` draws reports/demo/index.html + summary.md; `pareto` exports the frontier.
DEMO := examples/demo.yaml
demo: release
	$(BIN_RELEASE) run $(DEMO)
	$(BIN_RELEASE) report $(DEMO)
	$(BIN_RELEASE) pareto $(DEMO) --csv reports/demo/pareto.csv --json reports/demo/pareto.json
	$(BIN_RELEASE) spectra --base examples/checkpoints/base --finetuned examples/checkpoints/runs/full/checkpoint-120 \
	  --json reports/demo/spectra.json --table reports/demo/spectra.txt --quiet
	@echo "Open reports/demo/index.html (summary: reports/demo/summary.md)"

# libFuzzer + AddressSanitizer on every parser of outside bytes (Sources/Fuzz/<target>/main.swift),
# from the seeds in Tests/Fixtures/fuzz/; a crash lands in .build-fuzz/crashes/ (commit it to
# Tests/Fixtures/fuzz/<target>/regression-NAME with the fix). FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
FUZZ_RUNS ?= 1000000
fuzz: deps
	FUZZ_RUNS=$(FUZZ_RUNS) bash scripts/fuzz/run.sh $(FUZZ_SECONDS)

# 30 s per target with a fixed seed (CI runs it after the tests).
fuzz-smoke: deps
	FUZZ_SEED=1 bash scripts/fuzz/run.sh 30

# The whole suite under AddressSanitizer / ThreadSanitizer (own build folders; slow: a full
# instrumented build, and the tests run 2-5x slower).
# FORGETLENS_SANITIZER tells the few tests that cannot apply under a sanitizer (an address-space
# limit: ASan/TSan reserve terabytes of shadow memory) to skip, saying why. LSan suppressions:
# scripts/sanitizers/lsan.supp (toolchain leaks only, each with its upstream issue).
test-asan: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	@set -o pipefail; FORGETLENS_SANITIZER=address LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/sanitizers/lsan.supp \
	  $(SWIFT) test --skip-build --disable-swift-testing --sanitize=address --scratch-path .build-asan 2>&1 | tee .build-asan/test-output.log; \
	  status=$$?; bash scripts/test_summary.sh .build-asan/test-output.log $$status

test-tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	@set -o pipefail; FORGETLENS_SANITIZER=thread \
	  $(SWIFT) test --skip-build --disable-swift-testing --sanitize=thread --scratch-path .build-tsan 2>&1 | tee .build-tsan/test-output.log; \
	  status=$$?; bash scripts/test_summary.sh .build-tsan/test-output.log $$status

bench: bench-spectra bench-tokenizer bench-engine

bench-spectra: release
	bash bench/spectra/run.sh $(BIN_RELEASE)

bench-tokenizer: release
	FORGETLENS=$(BIN_RELEASE) bash bench/tokenizer/run.sh

bench-engine:
	bash bench/engine/run.sh

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
