# forgetlens — the two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift
BUILD_FLAGS ?=
BIN_DEBUG := .build/debug/forgetlens
BIN_RELEASE := .build/release/forgetlens
APT_PACKAGES := libopenblas-dev libsqlite3-dev

.PHONY: all deps build release test demo bench bench-spectra bench-tokenizer bench-engine clean

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

test: deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build $(BUILD_FLAGS)

# The bundled example: spectra of a small full fine-tune and of a LoRA adapter against their
# base (tiny llama checkpoints made with torch/transformers/peft by scripts/fixtures/).
EXAMPLE := Tests/Fixtures/models
demo: release
	@mkdir -p reports/demo
	$(BIN_RELEASE) spectra --base $(EXAMPLE)/llama-tiny --finetuned $(EXAMPLE)/llama-tiny-ft-bf16 \
	  --json reports/demo/spectra.json --table reports/demo/spectra.txt
	$(BIN_RELEASE) spectra --base $(EXAMPLE)/llama-tiny --adapter $(EXAMPLE)/lora-llama-r8 \
	  --compare-adapter $(EXAMPLE)/lora-llama-r16 --amplification --intruders \
	  --json reports/demo/spectra-lora.json --table reports/demo/spectra-lora.txt
	@echo "Wrote reports/demo/spectra.json, spectra.txt, spectra-lora.json, spectra-lora.txt"

bench: bench-spectra bench-tokenizer bench-engine

bench-spectra: release
	bash bench/spectra/run.sh $(BIN_RELEASE)

bench-tokenizer: release
	FORGETLENS=$(BIN_RELEASE) bash bench/tokenizer/run.sh

bench-engine:
	bash bench/engine/run.sh

clean:
	rm -rf .build
