#!/usr/bin/env bash
# Fresh machine -> the main job: builds ferrotorch into .venv and trains the seed CNN on the
# handwritten digits shipped in examples/data (no download). Outputs land in examples/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q ".[examples]"  # tqdm progress bars and the matplotlib loss figure
python examples/train_digits.py "$@"
