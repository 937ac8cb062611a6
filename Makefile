# botgate: make run | make test | make soak | make fuzz | make bench | make build | make deps
# On a fresh Debian 12 machine every target installs what is missing first.

BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS   ?= 120
CONFIG         ?= examples/botgate.toml
JOBS           ?= $(shell nproc)
SUDO           := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON         := /usr/bin/python3

# Debian 12 packages: the toolchain, the libraries, and what the tests run (Python fakes).
DEB_PACKAGES := build-essential cmake ninja-build pkg-config ccache git \
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev libboost-url1.81-dev \
  libssl-dev libsqlite3-dev libhiredis-dev redis-server libtomlplusplus-dev libcli11-dev libspdlog-dev \
  libre2-dev libpugixml-dev libmimalloc-dev libsodium-dev libgtest-dev libgmock-dev libbenchmark-dev \
  python3 python3-pytest python3-cryptography python3-websockets curl

# The Feishu long connection's frame schema (src/botgate/platforms/feishu/pbbp2.proto): protoc
# and the library for botgate, Python's protobuf for the fake that speaks it in the tests.
DEB_PACKAGES += python3-protobuf protobuf-compiler libprotobuf-dev

# The fuzz targets (fuzz/): clang 14, whose compiler-rt package has libFuzzer and the sanitizers.
DEB_PACKAGES += clang-14 libclang-rt-14-dev

# The web console's browser test (tests/browser) and the Koishi test (tests/koishi): Chromium,
# and Node.js only where it is missing.
DEB_PACKAGES += chromium $(if $(shell command -v node && command -v npm),,nodejs npm)

# ccache (when installed) shares objects between checkouts in different folders.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

CMAKE_FLAGS := -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
ifeq ($(CI),true)
CMAKE_FLAGS += -DBOTGATE_WARNINGS_AS_ERRORS=ON
endif

# Installs those of the Debian packages $(1) that are not installed yet (one apt-get for all).
define install_missing
@missing=$$(for p in $(1); do \
  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
if [ -n "$$missing" ]; then \
  echo "installing: $$missing"; \
  $(SUDO) apt-get update -qq && \
  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef

.PHONY: all deps browser-deps koishi-deps wecom-sdk-deps feishu-sdk-deps build build-asan run test test-unit soak bench fuzz clean

all: build

deps:
	$(call install_missing,$(DEB_PACKAGES))

# playwright-core for the browser test, pinned in tests/browser/package.json (no lock file).
browser-deps: deps
	@[ -d tests/browser/node_modules/playwright-core ] || \
	  (cd tests/browser && npm install --no-audit --no-fund --no-package-lock)

# Koishi and its OneBot v11 adapter, the real framework tests/integration/test_koishi.py runs,
# pinned in tests/koishi/package.json (no lock file; cordis held by `overrides`).
koishi-deps: deps
	@[ -f tests/koishi/node_modules/koishi/package.json ] && \
	 [ -f tests/koishi/node_modules/@koishijs/plugin-adapter-onebot/package.json ] || \
	  (cd tests/koishi && npm install --no-audit --no-fund --no-package-lock)

# The official WeCom AI-bot SDK, the client tests/integration/test_wecom_aibot_ws_fake.py runs
# against the fake long connection, pinned in tests/wecom_sdk/package.json (no lock file).
wecom-sdk-deps: deps
	@[ -f tests/wecom_sdk/node_modules/@wecom/aibot-node-sdk/package.json ] || \
	  (cd tests/wecom_sdk && npm install --no-audit --no-fund --no-package-lock)

# The official Feishu/Lark Node SDK, whose long-connection client proves the fake
# (tests/integration/test_feishu_longconn_fake.py), pinned in tests/feishu_sdk/package.json (no
# lock file).
feishu-sdk-deps: deps
	@[ -f tests/feishu_sdk/node_modules/@larksuiteoapi/node-sdk/package.json ] || \
	  (cd tests/feishu_sdk && npm install --no-audit --no-fund --no-package-lock)

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

$(ASAN_BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(ASAN_BUILD_DIR) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug \
	  -DBOTGATE_SANITIZE=address,undefined -DBOTGATE_BUILD_EXAMPLES=OFF

build-asan: deps $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

# The fuzz targets' tree: clang, ASan + UBSan + libFuzzer's coverage (cmake/fuzzing.cmake).
$(FUZZ_BUILD_DIR)/build.ninja: | deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DBOTGATE_FUZZ=ON -DBOTGATE_BUILD_TESTS=OFF -DBOTGATE_BUILD_EXAMPLES=OFF

run: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target botgate
	./$(BUILD_DIR)/botgate run --config $(CONFIG)

# Every test. Unit and integration tests run on the build with AddressSanitizer and UBSan (GCC 12
# miscompiles some coroutine code and ASan is what catches it); the integration tests run again
# against the optimised binary that `make run` uses; each fuzz target replays its regression
# inputs and fuzzes for a few seconds. Two cores build one tree at a time.
test: deps browser-deps koishi-deps wecom-sdk-deps feishu-sdk-deps $(BUILD_DIR)/build.ninja $(ASAN_BUILD_DIR)/build.ninja $(FUZZ_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2
	cmake --build $(BUILD_DIR) -j $(JOBS) --target botgate botgate_ping_bot botgate_toy_bot
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2 -L integration
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target botgate_fuzzers
	cd $(FUZZ_BUILD_DIR) && ctest --output-on-failure -j 2 -L fuzz --timeout 300

# Every fuzz target for FUZZ_SECONDS (default 120) each, two at a time; the corpora grow in
# $(FUZZ_BUILD_DIR)/fuzz/corpus/ from run to run, crashing inputs land in .../artifacts/.
fuzz: deps $(FUZZ_BUILD_DIR)/build.ninja
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target botgate_fuzzers
	cd $(FUZZ_BUILD_DIR) && FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -j 2 -L fuzz \
	  --timeout $$(($(FUZZ_SECONDS) + 300))

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit -j 2

# The crash loop (tests/integration/test_crash_loop.py) at length: steady traffic on every
# platform's fake while botgate is killed with SIGKILL SOAK_KILLS times at moments drawn from
# SOAK_SEED (random by default; printed, so a failing run can be repeated). `make test` runs it
# with 3 kills.
SOAK_KILLS ?= 25
SOAK_SEED ?=

soak: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target botgate
	SOAK_KILLS=$(SOAK_KILLS) SOAK_SEED=$(SOAK_SEED) BOTGATE_BINARY=$(CURDIR)/$(BUILD_DIR)/botgate \
	  $(PYTHON) -m pytest -q -s -p no:cacheprovider tests/integration/test_crash_loop.py

# What the benchmarks run besides botgate: the load generator, the references (FastAPI with the
# uvicorn[standard] extras, pycryptodome and PyNaCl for their crypto, discord.py) and nginx (the
# ceiling); the several-instances part starts the redis-server of DEB_PACKAGES.
# BENCH_ARGS=--quick: ~1 minute, and some 40 s for the several-instances part.
# The official Node SDKs are not in Debian: npm installs the versions pinned in
# bench/reference/node/package.json (no lock file), and builds better-sqlite3's native module
# (its install script may not run by default: npm 11 asks for scripts to be allowed).
BENCH_PACKAGES := wrk python3-fastapi python3-uvicorn python3-httptools python3-uvloop \
  python3-pycryptodome python3-nacl python3-discord $(if $(shell command -v nginx),,nginx-light)
BENCH_ARGS ?=

bench: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target botgate botgate_micro_bench
	$(call install_missing,$(BENCH_PACKAGES))
	@[ -f bench/reference/node/node_modules/better-sqlite3/build/Release/better_sqlite3.node ] || \
	  (cd bench/reference/node && npm install --no-audit --no-fund --no-package-lock && \
	   npm rebuild better-sqlite3)
	$(PYTHON) bench/run.py --build $(BUILD_DIR) $(BENCH_ARGS)
	@echo; echo "micro benchmarks: ./$(BUILD_DIR)/bench/botgate_micro_bench"
	./$(BUILD_DIR)/bench/botgate_micro_bench --benchmark_min_time=0.2

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
