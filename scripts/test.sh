#!/usr/bin/env bash
# Fresh machine -> every test: builds ferrotorch into .venv, then runs the Rust tests,
# the pytest suite and the conformance ratchet against ../shared/conformance.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q ".[test]"
cargo test --release --quiet
cd tests && python -m pytest -q -p no:cacheprovider .
