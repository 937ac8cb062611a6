#!/bin/sh
# Runs one fuzz target: first its regression inputs (each once; any crash fails), then fuzzing
# for SECONDS from its corpus, seeded by fuzz/make_seeds.py. Run from the source tree's root
# (ctest does). A crashing input is left in BUILD_DIR/artifacts/TARGET/.
# usage: fuzz/run_fuzzer.sh BINARY TARGET SECONDS BUILD_DIR [DICT]   (FUZZ_SECONDS overrides SECONDS)
set -eu
binary=$1 target=$2 seconds=${FUZZ_SECONDS:-$3} build_dir=$4 dict=${5:-}

corpus=$build_dir/corpus/$target        # grows from run to run; new inputs land here
artifacts=$build_dir/artifacts/$target
mkdir -p "$corpus" "$artifacts"
/usr/bin/python3 fuzz/make_seeds.py "$target" "$corpus"

regressions=fuzz/regressions/$target
if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
  echo "== $target: replaying $regressions"
  "$binary" -runs=1 "$regressions"/*
fi

echo "== $target: fuzzing for ${seconds}s"
# -timeout: no input may take 60 s (one takes milliseconds; 10 s was hit on a machine loaded 20
# times over); -rss_limit_mb: nor 2 GiB; -max_len: callbacks are small, but
# the server takes bodies up to 1 MiB, so inputs may grow past the 4 KiB default.
"$binary" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" ${dict:+-dict=fuzz/dict/$dict.dict} "$corpus"
