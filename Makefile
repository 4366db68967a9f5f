# The course's commands. Every target sets up .venv on first use, so a fresh
# clone needs nothing but Python 3.10+ and make.  `make help` lists them.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
IMPL   ?= lessons
export IMPL

# `make test-lesson 3` and `make test-lesson N=3` both work: a bare number among
# the goals is the lesson, and is itself a goal that does nothing.
LESSON_NUMBERS := 1 2 3 4 5 6 7 8 9 10 11 01 02 03 04 05 06 07 08 09
N ?= $(firstword $(filter $(LESSON_NUMBERS),$(MAKECMDGOALS)))
$(filter $(LESSON_NUMBERS),$(MAKECMDGOALS)):
	@:

.DEFAULT_GOAL := help
.PHONY: help setup test test-lesson check-lesson progress demo-lesson reset-lesson start-lesson stubs need-lesson bench hint grade trace-lesson watch

help: ## list the commands
	@echo "Start here:  make progress      (where you are, and what to do next)"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo
	@echo "IMPL=DIR tests another folder laid out like lessons/ (IMPL=solutions: the reference)."

# Offline set-up: when wheelhouse/ holds wheels (`make wheelhouse`, or the instructor's
# archive), pip installs from there alone and never asks the package index.
PIP_SOURCE := $(if $(wildcard wheelhouse/*.whl),--no-index --find-links wheelhouse)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "This course needs Python 3.10 or newer; you have " + sys.version.split()[0] + ". Run: make PYTHON=python3.12 ...")'
	$(if $(PIP_SOURCE),@echo "Installing from wheelhouse/ (offline)")
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_SOURCE) --upgrade pip
	$(PY) -m pip install --quiet $(PIP_SOURCE) -e '.[test]'
	@touch $@

setup: $(STAMP) ## create .venv and install everything (done for you by every target)

.PHONY: doctor wheelhouse
doctor: ## check this machine before you start (Python, packages, limits, ports); no set-up needed
	@command -v $(PYTHON) >/dev/null || { echo "✘ no $(PYTHON) on PATH: install Python 3.10 or newer, then: make PYTHON=python3.12 doctor"; exit 1; }
	@$(PYTHON) -m course.doctor --venv $(VENV)

wheelhouse: $(STAMP) ## (instructors) wheels + an archive for offline set-up; PLATFORMS=all for other laptops
	$(PY) -m course.wheelhouse $(if $(PLATFORMS),--platforms $(PLATFORMS)) $(if $(PYTHONS),--pythons $(PYTHONS))

test: $(STAMP) ## check the course: solutions pass, the pristine stubs fail every test, no drift
	$(PY) -m course.selfcheck

need-lesson:
	@test -n "$(N)" || { echo "Which lesson? e.g. make $(MAKECMDGOALS) 3"; exit 2; }

test-lesson: $(STAMP) need-lesson ## run lesson N's tests on your code: make test-lesson 3 (one exercise: EX=3.4; pytest's full output: ALL=1)
	@$(PY) -m course test-lesson $(N) --impl $(IMPL) $(if $(EX),--exercise $(EX)) $(if $(ALL),--all)

check-lesson: $(STAMP) need-lesson ## (course authors) lesson N: solutions pass, stubs fail, no drift
	$(PY) -m course.selfcheck --lesson $(N)

progress: $(STAMP) ## the table of every lesson and exercise, and what to do next
	@$(PY) -m course progress --impl $(IMPL)

hint: $(STAMP) need-lesson ## the next hint for the first exercise of lesson N that fails: make hint 2
	@$(PY) -m course hint $(N) --impl $(IMPL)

watch: $(STAMP) ## re-run the tests of the lesson you are editing each time you save (Ctrl-C stops)
	@$(PY) -m course watch $(N) --impl $(IMPL)

trace-lesson: $(STAMP) need-lesson ## run lesson N's demo and draw what your loop did (lessons 3-6): make trace-lesson 4
	@$(PY) -m course trace $(N) --impl $(IMPL)

grade: $(STAMP) ## (instructors) grade a class: make grade DIR=submissions/ (one folder per learner)
	@test -n "$(DIR)" || { echo "Which folder? e.g. make grade DIR=submissions/ (one sub-folder per learner, each a copy of lessons/)"; exit 2; }
	@$(PY) -m course grade $(DIR) $(if $(CSV),--csv $(CSV)) $(if $(JOBS),--jobs $(JOBS)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

demo-lesson: $(STAMP) need-lesson ## run lesson N's demo on your code: make demo-lesson 1 (options: ARGS="--flow")
	@$(PY) -m course demo $(N) --impl $(IMPL) $(ARGS)

start-lesson: $(STAMP) need-lesson ## begin lesson N from your code of the lesson before (9: your 08 server; 10: your 09 server)
	@$(PY) -m course start-lesson $(N)

reset-lesson: $(STAMP) need-lesson ## put lesson N's exercise files back as they started (yours are backed up)
	@$(PY) -m course reset-lesson $(N)

stubs: $(STAMP) ## (course authors) regenerate the stubs from solutions/ (all, or lesson N)
	$(PY) -m course.stubs generate $(if $(N),--lesson $(N))

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $@

bench: $(BENCH_STAMP) ## your servers, the reference and uvicorn under the same load, HTTP and WebSocket (needs ~3 min)
	@command -v wrk >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null); \
	  elif command -v brew >/dev/null; then echo "wrk is missing: 'brew install wrk' gives real figures; using the Python load generator."; \
	  else echo "wrk is missing (Debian/Ubuntu: sudo apt-get install wrk); using the Python load generator."; fi; }
	$(PY) -m course.bench $(BENCH_ARGS)
