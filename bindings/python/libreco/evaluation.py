"""Policy evaluation.

What exists today is :func:`libreco.run_sessions` (``reco_run_sessions``): play the same
session keys with several policies in the same environment (e.g. ``World.eval_users()`` in
the world, or in a fresh ``Sim`` per policy) and compare the returned totals.

# ---- PLACE FOR reco_eval (issue 7) ------------------------------------------------------
# The evaluator module ``reco_eval`` (include/reco/eval.h) is being written in parallel and is
# not in the library yet. When it lands, wrap it here in the same way as the other modules:
# declare its functions and structs in _ffi.py (with a layout check in tests/layout.c and
# tests/test_layout.py), wrap them in thin functions/classes below, and export them from
# __init__.py. Until then :func:`available` is False and :func:`evaluate` raises.
# -----------------------------------------------------------------------------------------
"""
from . import _ffi


def available():
    """Whether the loaded library has the evaluator (``reco_eval_*``)."""
    return _ffi.has("reco_eval_run")


def evaluate(*args, **kwargs):
    """Placeholder for the ``reco_eval`` wrapper (issue 7); use :func:`run_sessions` now."""
    raise NotImplementedError("reco_eval is not wrapped yet (issue 7); use "
                              "libreco.run_sessions() to evaluate policies")
