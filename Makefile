# MoeKit: `make demo` runs the main job, `make test` runs every test; both install what they need.
SWIFT      ?= swift
# One configuration for the CLI, the demo and the tests: release speed, @testable imports allowed.
SWIFTFLAGS ?= -c release -Xswiftc -enable-testing
BIN        := .build/release/moe
PY         := Converters/py
APT_PACKAGES := libopenblas-dev libhdf5-dev libprotobuf-c-dev protobuf-c-compiler pkg-config zlib1g-dev libpng-dev libjpeg62-turbo-dev python3-pil chromium chromium-driver curl
DEMO_DIR   ?= demo-out

.PHONY: all deps apt venv build generated wasm test test-swift test-python test-web test-install test-fuzz install install-venv demo bench bench-size bench-train bench-web clean fuzz fuzz-build fuzz-seeds

all: build

deps: apt venv

# Installs the missing apt packages only (root, or sudo when available).
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing </dev/null; \
	else echo "apt: all packages present"; fi

venv: apt
	@Converters/setup_venv.sh

build: apt
	$(SWIFT) build $(SWIFTFLAGS) --build-tests

test: deps build wasm test-python test-swift test-web test-install test-fuzz

test-swift:
	$(SWIFT) test $(SWIFTFLAGS) --skip-build
	# The native kernels again with their AVX2 and SSE variants (MOE_VECTOR_LEVEL caps the CPUID choice).
	for level in 1 0; do MOE_VECTOR_LEVEL=$$level $(SWIFT) test $(SWIFTFLAGS) --skip-build --filter \
	  'ConvTests|WinogradTests|TranscendentalTests|SpatialFastPathTests|PreparedWeightsTests|ConcatInPlaceTests|SpatialKernelTests|ExecutorTests' \
	  || exit 1; done

# node --test: moe.js (bundle loading, errors, every op and encoding) and web vs native parity.
test-web: wasm
	node --test Tests/web/

test-python: venv
	$(PY) -m pytest -q Converters/tests

# The main job (Samples/demo.sh): Chainer fidelity, then on the trained sample in Samples/ — moe report (HTML),
# --quantize auto, moe verify across runtimes (HTML), grids, moe evaluate, export-site, and moe serve with its URL
# (DEMO_SERVE=0 or a non-interactive shell skips serving).
demo: deps build wasm
	BIN=$(BIN) PY=$(PY) DEMO_DIR=$(DEMO_DIR) Samples/demo.sh

# ms/image of the paper generator at batch 1 and 16: MoeKit native, real Chainer and ONNX Runtime in the same run, with
# ratios (then again with one core kept busy by another process); then PyTorch-exported U-Net, SRGAN and pix2pix
# generators in MoeKit and ONNX Runtime (needs PyTorch).
bench: deps build
	@mkdir -p $(DEMO_DIR)
	@[ -f $(DEMO_DIR)/paper/model.npz ] || $(PY) Converters/chainer/make_fixture.py --arch srresnet-generator --C 64 --B 16 --U 3 --n 162 --seed 0 --batch 1 --out $(DEMO_DIR)/paper
	$(PY) Converters/bench_speed.py --moe $(BIN) --model $(DEMO_DIR)/paper/model.npz
	$(PY) Converters/bench_speed.py --moe $(BIN) --model $(DEMO_DIR)/paper/model.npz --busy
	$(PY) Converters/bench_onnx_zoo.py --moe $(BIN)

# Bytes and output PSNR of every encoding and of `auto` on the paper generator, next to WebDNN's eightbit.
bench-size: deps build
	@mkdir -p $(DEMO_DIR)
	@[ -f $(DEMO_DIR)/paper/model.npz ] || $(PY) Converters/chainer/make_fixture.py --arch srresnet-generator --C 64 --B 16 --U 3 --n 162 --seed 0 --batch 1 --out $(DEMO_DIR)/paper
	$(PY) Converters/bench_size.py --moe $(BIN) --model $(DEMO_DIR)/paper/model.npz --paper
	$(PY) Converters/bench_size.py --moe $(BIN) --model Samples/generator.npz

# The tool and everything it reads at run time: PREFIX/bin/moe, PREFIX/share/moekit/{web,Converters} and (unless
# INSTALL_VENV=no) PREFIX/share/moekit/venv with Converters/requirements.txt for the chainer/onnxruntime runtimes.
# The installed moe finds these from its own path and never reads the checkout. Installs the built $(BIN) as is
# (run `make build` first to refresh it; it is built only when missing).
PREFIX       ?= /usr/local
SHARE_DIR     = $(DESTDIR)$(PREFIX)/share/moekit
INSTALL_VENV ?= yes
WEB_FILES    := index.html app.js style.css npy.js moe.js kernels.wasm kernels-mt.wasm kernels-mt-fma.wasm runner.html runner.js run-node.mjs bench-node.mjs

$(BIN):
	$(MAKE) build

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE_DIR)/web $(SHARE_DIR)/Converters/chainer $(SHARE_DIR)/Converters/onnx $(SHARE_DIR)/Converters/torch
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/moe
	install -m 644 $(addprefix Sources/MoeWeb/,$(WEB_FILES)) $(SHARE_DIR)/web/
	install -m 644 Converters/chainer/*.py $(SHARE_DIR)/Converters/chainer/
	install -m 644 Converters/onnx/*.py $(SHARE_DIR)/Converters/onnx/
	install -m 644 Converters/torch/*.py $(SHARE_DIR)/Converters/torch/
	install -m 644 Converters/requirements.txt $(SHARE_DIR)/Converters/
	install -m 755 Converters/setup_venv.sh $(SHARE_DIR)/Converters/
	@if [ "$(INSTALL_VENV)" = yes ]; then $(MAKE) --no-print-directory install-venv; \
	else echo "install: no venv (INSTALL_VENV=$(INSTALL_VENV)); verify's chainer/onnxruntime runtimes use --python or MOE_PYTHON"; fi
	@echo "install: $(DESTDIR)$(PREFIX)/bin/moe and $(SHARE_DIR)"

# The Python of moe verify's drivers: PREFIX/share/moekit/venv with the pinned Converters/requirements.txt.
install-venv:
	MOE_VENV=$(SHARE_DIR)/venv Converters/setup_venv.sh

# make install into a temp PREFIX, then the installed moe, run from outside the checkout with the checkout's
# Sources/MoeWeb and Converters hidden: export-site, serve, run/bench --runtime wasm, verify (see the script).
test-install: build wasm venv
	Tests/install/relocatable.sh

clean:
	rm -rf .build $(DEMO_DIR)

# Rewrites what the op schema (Sources/MoeIR/OpSchema+Table.swift) generates: moe.js's op block,
# Converters/tests/ops_generated.py and Formats/ir.md's op table (OpSchemaTests fails when they are stale).
generated:
	MOE_REGENERATE=1 $(SWIFT) test $(SWIFTFLAGS) --filter OpSchemaTests.testGeneratedTablesAreCurrent

# The browser kernels: Sources/MoeKernels (Embedded Swift, SIMD128) + runtime.c → Sources/MoeWeb/kernels.wasm, and the
# shared-memory builds of moe.js's worker pool, kernels-mt.wasm and kernels-mt-fma.wasm (relaxed SIMD, gemm-fma.c).
# Tests depend on it, so a stale artifact cannot pass (Tests/web/wasm.test.mjs also checks a rebuild is identical).
wasm:
	Sources/MoeWeb/build-wasm.sh

# ms per 128² image of the paper generator: native (2 threads), wasm in node (1 thread), and headless Chromium with
# wasm threads and with one thread beside native in the same run (moe bench --runtime browser).
# Seconds per DRAGAN + ACGAN training iteration at 64² (C=64, B=16, batch 32): MoeKit, real Chainer and PyTorch CPU
# (where installed) in the same run, with ratios.
bench-train: deps build
	$(PY) Converters/bench_train.py --moe $(BIN) --size 64 --C 64 --B 16 --batch 32 --iterations 3

bench-web: deps build wasm
	@mkdir -p $(DEMO_DIR)
	@[ -f $(DEMO_DIR)/paper/model.npz ] || $(PY) Converters/chainer/make_fixture.py --arch srresnet-generator --C 64 --B 16 --U 3 --n 162 --seed 0 --batch 1 --out $(DEMO_DIR)/paper
	$(BIN) convert $(DEMO_DIR)/paper/model.npz -o $(DEMO_DIR)/paper.moe
	$(BIN) bench $(DEMO_DIR)/paper.moe --runtime native
	$(BIN) bench $(DEMO_DIR)/paper.moe --runtime wasm
	$(BIN) bench $(DEMO_DIR)/paper.moe --runtime browser

# libFuzzer targets for the NPY, NPZ, HDF5, ONNX, bundle and IR-text readers (Fuzz/, a separate package so that the
# main build is unaffected), run one after the other for FUZZ_SECONDS each on corpora grown from seed files made
# by Fuzz/make_seeds.sh. `make test` runs each for FUZZ_TEST_SECONDS. Crash inputs land in $(FUZZ_DIR)/artifacts.
FUZZ_SECONDS      ?= 600
FUZZ_TEST_SECONDS ?= 10
FUZZ_DIR          ?= .build-fuzz
FUZZ_TARGETS      ?= NPY NPZ HDF5 ONNX Bundle IRText
FUZZ_BIN           = $(FUZZ_DIR)/release

fuzz-build: apt
	cd Fuzz && $(SWIFT) build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xswiftc -enable-testing --scratch-path ../$(FUZZ_DIR)

fuzz-seeds: build venv
	Fuzz/make_seeds.sh $(FUZZ_DIR)/work/seeds $(BIN)

fuzz: fuzz-build fuzz-seeds
	Fuzz/run.sh $(FUZZ_BIN) $(FUZZ_DIR)/work $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test-fuzz: fuzz-build fuzz-seeds
	Fuzz/run.sh $(FUZZ_BIN) $(FUZZ_DIR)/work $(FUZZ_TEST_SECONDS) $(FUZZ_TARGETS)
