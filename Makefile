# `make test` and `make demo` set up .venv from requirements.txt by themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: test demo bench venv clean kernels sanitize

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $(STAMP)

# Where a C++ compiler is present the CPU kernels must build and pass their checks: strict mode turns an
# unavailable kernel into an error instead of skipped tests (docs/cpu_kernels.md).
STRICT_KERNELS := $(if $(shell command -v $(CXX) 2>/dev/null),1,0)

test: $(STAMP)
	I3D_STRICT_KERNELS=$(STRICT_KERNELS) $(PY) -m pytest -q -ra --durations=10 tests

# Build and check the C++ CPU kernels now (one line each: where the library went).
kernels: $(STAMP)
	$(PY) -c "import sys; from src.backend.cpu_kernels import main; sys.exit(main())"

# Opt-in: the kernels built with AddressSanitizer/UndefinedBehaviorSanitizer, their tests and the network's
# under them, then a stress run (kernel tests repeated in one process, 1 and 4 threads). Minutes, niced.
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
STRESS_ROUNDS ?= 5
sanitize: $(STAMP)
	export I3D_KERNEL_CXXFLAGS="$(SANITIZE_FLAGS)" I3D_STRICT_KERNELS=1 \
	  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LD_PRELOAD="$$($(CXX) -print-file-name=libasan.so) $$($(CXX) -print-file-name=libubsan.so)"; \
	nice -n 5 $(PY) -m pytest -q -ra tests/test_conv3d.py tests/test_max_pool.py tests/test_cpu_kernels.py \
	  tests/test_i3d_network.py && \
	nice -n 5 $(PY) -m tests.fixtures.stress_kernels --rounds $(STRESS_ROUNDS) --threads 1 && \
	nice -n 5 $(PY) -m tests.fixtures.stress_kernels --rounds $(STRESS_ROUNDS) --threads 4

demo: $(STAMP)
	bash scripts/demo.sh $(VIDEO)

bench: $(STAMP)
	$(PY) bench/bench_model.py

clean:
	rm -rf demo_out .pytest_cache
