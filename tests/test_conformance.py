"""The conformance ratchet: every case recorded from PyTorch must pass unless listed as a
known failure, and the known-failure list may only shrink."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "conformance"))


def _known():
    with open(os.path.join(HERE, "conformance_known_failures.txt")) as f:
        return {line.split("#")[0].strip() for line in f} - {""}


@pytest.mark.skipif(not os.path.exists(os.path.join(CORPUS, "run.py")), reason="../shared/conformance is not beside this checkout")
def test_conformance_ratchet(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, os.path.join(CORPUS, "run.py"), "--json", str(out)], capture_output=True, text=True, timeout=900)
    results = json.loads(out.read_text())
    failing = {k: v for k, v in results.items() if v != "pass"}
    known = _known()
    unexpected = {k: v for k, v in failing.items() if k not in known}
    fixed = sorted(k for k in known if results.get(k) == "pass")
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    assert not unexpected, f"{summary}\nnew conformance failures:\n" + "\n".join(f"{k}: {v}" for k, v in unexpected.items())
    assert not fixed, f"these cases pass now; remove them from conformance_known_failures.txt: {fixed}"
    assert len(results) >= 800, f"corpus looks truncated: {len(results)} cases"
