#!/bin/sh
# Builds the spine analysis for wasm32 as the app does (release, simd128)
# and times it in Node; with PROFILE=1 also writes a V8 CPU profile to
# profiles/ and prints where the time went. Arguments go to run.js.
set -e
cd "$(dirname "$0")"
cp ../../../Cargo.lock .
RUSTFLAGS="-C target-feature=+simd128" cargo build --release --target wasm32-unknown-unknown
wasm-bindgen --target nodejs --out-dir pkg "${CARGO_TARGET_DIR:-target}"/wasm32-unknown-unknown/release/insitu_spine_wasm_profile.wasm
if [ -n "$PROFILE" ]; then
  rm -rf profiles
  node --cpu-prof --cpu-prof-dir=profiles --cpu-prof-interval 500 run.js "$@"
  python3 summarise.py profiles/*.cpuprofile
else
  node run.js "$@"
fi
