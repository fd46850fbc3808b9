# mmvidseg quick start: `make demo` (train + evaluate + overlay on procedural
# videos) and `make test` (the full test suite). Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CFG := configs/demo/tempattn_r18-tiny_1xb8-clip3-600it_procedural-96x96.py
DEMO_DIR := work_dirs/demo
PYTEST_ARGS ?=

.PHONY: env demo test lint clean-demo

env:
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/setup_env.sh

demo: env
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CFG) $(DEMO_DIR)/iter_600.pth --work-dir $(DEMO_DIR) --out $(DEMO_DIR)/test_masks
	$(PY) tools/misc/make_procedural_video.py $(DEMO_DIR)/input.mp4 --frames 48 --seed 777
	$(PY) tools/infer_video.py $(DEMO_CFG) $(DEMO_DIR)/iter_600.pth $(DEMO_DIR)/input.mp4 --out-dir $(DEMO_DIR)/overlay --overlay gif
	@echo "demo done: metrics in $(DEMO_DIR)/*/*.json, overlay in $(DEMO_DIR)/overlay/overlay.gif"

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

clean-demo:
	rm -rf $(DEMO_DIR)

lint: env
	$(PY) -m flake8 mmvidseg tools tests configs
	$(PY) -m isort --check-only --diff mmvidseg tools tests
