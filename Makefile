# keras-inspect: the commands the README names.
SWIFT ?= swift
FIXTURE_VENV ?= .venv-fixtures

# Release builds: the CLI links the Swift runtime statically, and libhdf5 wherever Debian ships its
# static library (see Package.swift), for a plain `swift build -c release` too.
RELEASE = $(SWIFT) build -c release

.PHONY: demo test docs build install uninstall bench compare fuzz deps fixtures apps-check clean

## demo: install libhdf5 if missing, build, and inspect the LSTM worked example (640 params)
demo: build
	.build/release/keras-inspect Fixtures/keras2/lstm_worked_example.h5
	.build/release/keras-inspect summary --explain Fixtures/keras3/lstm_worked_example.h5
	.build/release/keras-inspect verify Fixtures/keras2/lstm_worked_example.h5 \
	  --input Fixtures/keras2/lstm_worked_example.npz:input_0 --expect Fixtures/keras2/lstm_worked_example.npz:output_0

## test: install libhdf5 if missing, Graphviz and the Python tools the tests drive (pre-commit,
## markdown-it-py, from PyPI into TOOLS_VENV), then run the whole test suite, build the library's
## documentation and build and run Examples/ReadModel, a package that depends on this one by path
TOOLS_VENV ?= .venv-tools
test: deps $(TOOLS_VENV)/.installed
	KERAS_INSPECT_TEST_PYTHON=$(abspath $(TOOLS_VENV))/bin/python $(SWIFT) test
	SWIFT=$(SWIFT) ./scripts/check-library.sh

## docs: the KerasInspect library's DocC archive (swift-docc-plugin), in .build/plugins/Swift-DocC/outputs
docs: deps
	$(SWIFT) package generate-documentation --target KerasInspect --warnings-as-errors

$(TOOLS_VENV)/.installed: Tests/requirements.txt
	@./scripts/install-deps.sh --python
	@./scripts/install-deps.sh --graphviz
	test -d $(TOOLS_VENV) || python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install -q -r Tests/requirements.txt
	touch $@

build: deps
	$(RELEASE) --product keras-inspect

## install: the release binary, its man page (swift-argument-parser's generate-manual plugin) and
## bash, zsh and fish completions under $(DESTDIR)$(PREFIX); uninstall removes them
PREFIX ?= /usr/local
MAN_DATE = $$(git log -1 --format=%cs 2>/dev/null || date +%F)
INSTALLED = $(DESTDIR)$(PREFIX)/bin/keras-inspect $(DESTDIR)$(PREFIX)/share/man/man1/keras-inspect.1 \
  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/keras-inspect \
  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_keras-inspect \
  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/keras-inspect.fish
install: build
	$(SWIFT) package generate-manual --date "$(MAN_DATE)" > /dev/null
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 .build/release/keras-inspect $(DESTDIR)$(PREFIX)/bin/keras-inspect
	install -m 0644 .build/plugins/GenerateManual/outputs/keras-inspect/keras-inspect.1 $(DESTDIR)$(PREFIX)/share/man/man1/keras-inspect.1
	.build/release/keras-inspect --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/keras-inspect
	.build/release/keras-inspect --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_keras-inspect
	.build/release/keras-inspect --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/keras-inspect.fish

uninstall:
	rm -f $(INSTALLED)

## bench: the benchmark suite (not part of the tests): forward passes, loading a ~490 MB model,
## whole-process inspection. The models are made once with real Keras (BENCH_VENV, from PyPI).
BENCH_DIR ?= .bench
BENCH_VENV ?= .venv-bench
bench: deps $(BENCH_DIR)/manifest.json
	$(RELEASE) --product keras-inspect
	$(RELEASE) --product keras-inspect-bench
	.build/release/keras-inspect-bench --models $(BENCH_DIR)

## compare: the same cases timed side by side with Keras/TensorFlow and h5py, with ratios
compare: deps $(BENCH_DIR)/manifest.json
	$(RELEASE) --product keras-inspect
	$(RELEASE) --product keras-inspect-bench
	$(BENCH_VENV)/bin/python Benchmarks/compare.py --models $(BENCH_DIR)

$(BENCH_DIR)/manifest.json: Benchmarks/models.py
	@./scripts/install-deps.sh --python
	test -d $(BENCH_VENV) || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -r Benchmarks/requirements.txt
	$(BENCH_VENV)/bin/python Benchmarks/models.py $(BENCH_DIR)

## fuzz: libFuzzer with AddressSanitizer over the loaders for FUZZ_SECONDS (default 600), seeded
## with the fixtures and the marshalled code objects of Fixtures/python; new inputs go to Fuzz/corpus, crashes to Fuzz/crashes (not part of CI).
## Each fuzzing process is sandboxed like the CLI's reader, so it cannot start the symbolizer:
## sanitizer stacks are left unsymbolized and new functions are not printed (rerun an artifact
## with KERAS_INSPECT_NO_SANDBOX=1 for names).
FUZZ_SECONDS ?= 600
fuzz: deps
	$(SWIFT) build -c release --product keras-inspect-fuzz --build-path .build-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	mkdir -p Fuzz/corpus Fuzz/crashes Fuzz/seeds-python
	python3 scripts/code-seeds.py Fixtures/python Fuzz/seeds-python
	ASAN_OPTIONS=symbolize=0 .build-fuzz/release/keras-inspect-fuzz Fuzz/corpus Fuzz/seeds-python Fixtures/keras2 Fixtures/keras3 Fixtures/broken Fixtures/hdf5 Fixtures/corrupt \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=262144 -rss_limit_mb=2048 -timeout=3 \
	  -artifact_prefix=Fuzz/crashes/ -print_final_stats=1 -print_funcs=0 -detect_leaks=0 -fork=1 -ignore_timeouts=1 -ignore_crashes=1

deps:
	@./scripts/install-deps.sh

## fixtures: regenerate Fixtures/ with real Keras (needs PyPI; never run in CI)
fixtures:
	@./scripts/install-deps.sh --python
	test -d $(FIXTURE_VENV) || python3 -m venv $(FIXTURE_VENV)
	$(FIXTURE_VENV)/bin/pip install -q -r Fixtures/requirements.txt
	$(FIXTURE_VENV)/bin/python Fixtures/generate.py

## apps-check: every keras.applications architecture built by real Keras into .apps/ (not committed),
## then compared with keras-inspect (summary, params, outputs); APPS_ARGS=--all for every member
APPS_ARGS ?=
apps-check: build
	@./scripts/install-deps.sh --python
	test -d $(FIXTURE_VENV) || python3 -m venv $(FIXTURE_VENV)
	$(FIXTURE_VENV)/bin/pip install -q -r Fixtures/requirements.txt
	$(FIXTURE_VENV)/bin/python Fixtures/apps.py $(APPS_ARGS)

clean:
	rm -rf .build
