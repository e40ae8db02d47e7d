"""The examples of docs/python.md run (tests/check_tutorial.py on that page), so that they
cannot rot."""
import os
import subprocess
import sys

import pytest

from conftest import SRC_TESTS


def test_python_md_examples_run():
    build = os.environ.get("RECO_BUILD_ROOT")
    if not build:
        pytest.skip("RECO_BUILD_ROOT not set (run through `meson test`)")
    root = os.path.dirname(os.path.abspath(SRC_TESTS))
    r = subprocess.run([sys.executable, os.path.join(SRC_TESTS, "check_tutorial.py"), root,
                        build, os.path.join(root, "docs", "python.md")],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "0 failed" in r.stdout and "skipped" not in r.stdout
