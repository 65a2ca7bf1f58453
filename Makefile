VENV ?= .venv

.PHONY: demo test setup setup-test bench clean

demo: setup
	$(VENV)/bin/lucidsonicdreams demo -o demo.mp4

test: setup-test
	$(VENV)/bin/python -m pytest

setup:
	VENV=$(VENV) bash scripts/setup.sh

setup-test:
	VENV=$(VENV) bash scripts/setup.sh test

bench: setup
	$(VENV)/bin/python benchmarks/bench_cppn.py

clean:
	rm -rf $(VENV) *.egg-info demo.mp4
