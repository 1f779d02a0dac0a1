# ideal_mm - `make demo` and `make test` work alone on a fresh machine
# (Python 3.11, pip, make). PYTHON=/path/to/python uses an existing environment
# instead of creating .venv.
SHELL := /bin/bash
TORCH_VERSION ?= 2.13.0
MMCV_VERSION ?= 2.1.0
MMCV_WHEEL_CACHE ?= $(HOME)/.cache/ideal_mm/wheels
# only used when the installed mmseg ships no tests/ (source/editable installs)
MMSEG_TESTS_CACHE ?= $(HOME)/.cache/ideal_mm/mmseg-tests

ifeq ($(strip $(PYTHON)),)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ideal_mm-installed
else
PY := $(PYTHON)
STAMP := .make/installed-$(subst /,_,$(PYTHON))
endif
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: install test test-mmseg demo lint install-mmcv-full clean-demo help gpu-wheels

help:
	@echo "make install            create .venv and install ideal_mm (torch $(TORCH_VERSION) if none, mmcv-lite if no mmcv)"
	@echo "make test               install, then run the test suite"
	@echo "make test-mmseg         install, then run mmseg's own model tests with ideal_mm imported (~2 min)"
	@echo "make demo               install, then run IDEAL and baselines on generated phantom ACDC data"
	@echo "make lint               flake8, isort and yapf in check mode (setup.cfg), tools pinned in requirements/lint.txt"
	@echo "make install-mmcv-full  build mmcv $(MMCV_VERSION) with compiled ops (about 11 min on 2 cores)"
	@echo "make gpu-wheels         download the wheels a bare GPU machine needs into .wheels/ (docs/benchmarks.md)"

install: $(STAMP)

$(STAMP): setup.py Makefile
ifeq ($(strip $(PYTHON)),)
	test -x $(PY) || python3 -m venv $(VENV)
endif
	@mkdir -p $(dir $(STAMP))
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install torch==$(TORCH_VERSION)
	$(PY) -c "import mmcv" 2>/dev/null || $(PIP) install mmcv-lite==$(MMCV_VERSION)
	$(PIP) install -e '.[tests]'
	@# mmengine 0.10.7's is_installed/get_installed_path import pkg_resources,
	@# which setuptools >= 81 no longer has (torch pulls the newest setuptools)
	$(PY) -c "import pkg_resources" 2>/dev/null || $(PIP) install 'setuptools<81'
	$(PY) -c "import ideal_mm, mmseg, mmcv, torch; print('ideal_mm', ideal_mm.__version__, '| mmseg', mmseg.__version__, '| mmcv', mmcv.__version__, '(compiled ops)' if not ideal_mm.compat.MMCV_OPS_STAND_IN else '(no compiled ops: stand-in active)', '| torch', torch.__version__)"
	@touch $(STAMP)

test: install
	$(PY) -m pytest tests -q

# mmseg's shipped model tests (tests/test_models) with ideal_mm imported first;
# known failures (compiled op, config not shipped, optional package) are listed
# with their reasons in tools/ci/run_mmseg_tests.py, any other failure fails.
# Extra pytest arguments: make test-mmseg MMSEG_TEST_ARGS='-x -k vit'
test-mmseg: install
	$(PY) tools/ci/run_mmseg_tests.py --fetch-into $(MMSEG_TESTS_CACHE) -- $(MMSEG_TEST_ARGS)

demo: install
	PYTHON=$(PY) bash tools/demo.sh

# flake8, isort and yapf as setup.cfg configures them, in check mode (nothing
# is rewritten; `isort <files>` and `yapf -i <files>` fix). Needs only the
# three tools at the versions in requirements/lint.txt, installed if missing
# or different, not ideal_mm: CI runs it before `make test`. All three run and
# every finding is printed before the target fails.
LINT_PATHS ?= ideal_mm tools tests configs setup.py
lint:
ifeq ($(strip $(PYTHON)),)
	test -x $(PY) || python3 -m venv $(VENV)
endif
	$(PY) tools/ci/lint_tools_match.py requirements/lint.txt \
	  || $(PIP) install -r requirements/lint.txt
	@status=0; \
	echo "flake8:"; $(PY) -m flake8 $(LINT_PATHS) || status=1; \
	echo "isort:"; $(PY) -m isort --check-only --diff $(LINT_PATHS) || status=1; \
	echo "yapf:"; $(PY) -m yapf --diff --recursive --parallel $(LINT_PATHS) || status=1; \
	if [ $$status -ne 0 ]; then echo "make lint: findings above"; else echo "make lint: clean"; fi; \
	exit $$status

# Full mmcv with compiled ops, built from source once and cached outside the repo.
install-mmcv-full: install
	@mkdir -p $(MMCV_WHEEL_CACHE)
	if ! ls $(MMCV_WHEEL_CACHE)/mmcv-$(MMCV_VERSION)-*.whl >/dev/null 2>&1; then \
	  $(PIP) install 'setuptools<70' wheel ninja && \
	  MMCV_WITH_OPS=1 $(PIP) wheel --no-build-isolation --no-deps -w $(MMCV_WHEEL_CACHE) mmcv==$(MMCV_VERSION); \
	fi
	$(PIP) uninstall -y mmcv-lite mmcv >/dev/null 2>&1 || true
	$(PIP) install --no-deps $(MMCV_WHEEL_CACHE)/mmcv-$(MMCV_VERSION)-*.whl
	$(PY) -c "import ideal_mm.compat as c; assert c.mmcv_has_compiled_ops(); print('mmcv with compiled ops is active')"

# Wheels for tools/analysis/gpu_report.sh on a GPU machine without internet
# and without OpenMMLab (Python $(GPU_PY_VERSION), torch preinstalled): pure
# wheels, plus the small compiled ones for that Python and platform. Add what
# the report's import check names as missing, e.g.
#   make gpu-wheels GPU_BINARY_WHEELS='regex pyyaml opencv-python-headless'
# (the carried folder must stay under the device's 64 MiB).
GPU_WHEELS_DIR ?= .wheels
GPU_PY_VERSION ?= 3.12
GPU_PLATFORM ?= manylinux2014_x86_64
GPU_PURE_WHEELS ?= mmengine==0.10.7 mmsegmentation==1.2.2 mmcv-lite==$(MMCV_VERSION) \
	addict yapf platformdirs termcolor prettytable wcwidth nibabel ftfy \
	rich pygments markdown-it-py mdurl tqdm packaging
GPU_BINARY_WHEELS ?= regex pyyaml
GPU_PIP = $(if $(wildcard $(PY)),$(PIP),python3 -m pip --disable-pip-version-check)
gpu-wheels:
	@mkdir -p $(GPU_WHEELS_DIR)
	$(GPU_PIP) download --no-deps --only-binary=:all: -d $(GPU_WHEELS_DIR) $(GPU_PURE_WHEELS)
	$(GPU_PIP) download --no-deps --only-binary=:all: -d $(GPU_WHEELS_DIR) \
	  --python-version $(GPU_PY_VERSION) --platform $(GPU_PLATFORM) $(GPU_BINARY_WHEELS)
	@du -sh $(GPU_WHEELS_DIR)

clean-demo:
	rm -rf work_dirs/demo data/phantom_acdc
