#!/usr/bin/env bash
# Fresh machine -> every test: builds ferrotorch into .venv, then runs the Rust tests,
# the pytest suite and the conformance ratchet against ../shared/conformance.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q ".[test]"
echo "[test.sh] set up and built in ${SECONDS}s" >&2
# the library's unit tests only: one more compile of the crate (and of its dependencies: the
# wheel's build does not share them), where an integration test would add a second one
cargo test --release --lib --quiet
echo "[test.sh] Rust tests done at ${SECONDS}s" >&2
cd tests && python -m pytest -q -p no:cacheprovider .
