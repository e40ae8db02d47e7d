"""Runs the binding's pytest suite (what `meson test python` calls).

Exits 77 (Meson's "skipped") with a message when NumPy or pytest is missing, so that a
machine without them still passes the rest of the suite; scripts/quickstart installs both
(python3-numpy, python3-pytest)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

missing = []
for mod in ("numpy", "pytest"):
    try:
        __import__(mod)
    except ImportError:
        missing.append(mod)
if missing:
    print("python binding tests skipped: %s not installed for %s (Debian: apt-get install %s)"
          % (", ".join(missing), sys.executable,
             " ".join("python3-" + m for m in missing)))
    sys.exit(77)

import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(HERE))
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", HERE] + sys.argv[1:]))
