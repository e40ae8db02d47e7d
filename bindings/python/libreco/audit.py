"""``reco_audit``: the same policy, the same users, in a simulator and in a reference env;
what each did, overall, by item popularity and by user segment."""
import ctypes

import numpy as np

from . import _ffi
from ._core import Record, array_in, call, invalid, lib, options, ptr, struct_dict
from .env import as_env


def audit_options(options_=None, **fields):
    """An :class:`AuditOptions`: ``options_`` copied, or the defaults, then ``fields``."""
    return options(_ffi.AuditOptions, lib.reco_audit_options_init, options_, fields, "audit")


def _report(rep):
    """The report as a :class:`Record`, lists cut to the groups and rates used."""
    F, B, G = rep.n_signals, rep.n_buckets, rep.n_segments

    def stats(s):
        d = struct_dict(s)
        d["count"], d["rate"] = d["count"][:F], d["rate"][:F + 1]
        return Record(**d)
    r = Record(n_signals=F, n_sessions=rep.n_sessions, n_buckets=B, n_segments=G,
               sim=stats(rep.sim), real=stats(rep.real),
               sim_bucket=[stats(rep.sim_bucket[i]) for i in range(B)],
               real_bucket=[stats(rep.real_bucket[i]) for i in range(B)],
               bucket_max_popularity=list(rep.bucket_max_popularity)[:B],
               bucket_items=list(rep.bucket_items)[:B],
               sim_segment=[stats(rep.sim_segment[i]) for i in range(G)],
               real_segment=[stats(rep.real_segment[i]) for i in range(G)],
               worst_bucket=list(rep.worst_bucket)[:F + 1],
               worst_bucket_gap=list(rep.worst_bucket_gap)[:F + 1],
               worst_segment=list(rep.worst_segment)[:F + 1],
               worst_segment_gap=list(rep.worst_segment_gap)[:F + 1])
    return r


def audit_run(sim, real, policy, users, item_popularity=None, user_segment=None,
              options_=None, **fields):
    """Play one session per entry of ``users`` with ``policy`` in ``sim`` and then in
    ``real`` (each an :class:`Env`, one written in Python too, or a World/Sim whose
    ``env()`` is used) and compare them (``reco_audit_run``). Returns the report as a
    :class:`Record`: ``sim``, ``real`` (each ``sessions``, ``steps``, ``exits``,
    ``truncated``, ``count`` (F,), ``rate`` (F + 1,: the signals, then the exit),
    ``mean_depth``, ``mean_return``), per popularity bucket ``sim_bucket``,
    ``real_bucket``, per user segment ``sim_segment``, ``real_segment``, and the worst
    buckets and segments of each rate.

    ``item_popularity`` (n_items,) buckets the steps by the popularity of the item shown
    (None: one bucket); ``user_segment`` (len(users),) gives each session's segment (None:
    one). Other keywords are ``reco_audit_options`` fields (``n_buckets``, ``n_segments``
    (default: ``max(user_segment) + 1``), ``parallel``, ``max_candidates`` (default: the
    sim's declared one, else 500), ``max_steps``). An exception raised by an env or the
    policy is raised again here."""
    sim, real = as_env(sim), as_env(real)
    users = array_in(users, np.uint64, "users", ndim=1)
    keep = []
    if options_ is None:
        sim._run_max_candidates(fields)
        if user_segment is not None and "n_segments" not in fields:
            seg = array_in(user_segment, np.uint32, "user_segment", ndim=1)
            fields["n_segments"] = int(seg.max(initial=0)) + 1
    o = audit_options(options_, **fields)
    if item_popularity is not None:
        pop = array_in(item_popularity, np.float32, "item_popularity", ndim=1)
        if pop.shape[0] != real.n_items:
            raise invalid("item_popularity: %d values for %d items"
                          % (pop.shape[0], real.n_items), field="item_popularity")
        o.item_popularity = ptr(pop)
        keep.append(pop)
    if user_segment is not None:
        seg = array_in(user_segment, np.uint32, "user_segment", shape=users.shape)
        o.user_segment = ptr(seg)
        keep.append(seg)
    rep = _ffi.AuditReport(version=_ffi.VERSIONS[_ffi.AuditReport])
    policy._bind(sim)
    call("reco_audit_run", lib.reco_audit_run, ctypes.byref(rep), sim._ref, real._ref,
         policy._ref, ptr(users), users.shape[0], ctypes.byref(o),
         owners=(policy, sim, real))
    return _report(rep)


def audit_world(sim, world, policy, first, n, options_=None, **fields):
    """:func:`audit_run` against the built-in :class:`World`: its evaluation sessions
    ``first .. first + n - 1``, its popularity prior and its user segments
    (``reco_audit_world``)."""
    sim = as_env(sim)
    if options_ is None:
        sim._run_max_candidates(fields)
    o = audit_options(options_, **fields)
    rep = _ffi.AuditReport(version=_ffi.VERSIONS[_ffi.AuditReport])
    policy._bind(sim)
    call("reco_audit_world", lib.reco_audit_world, ctypes.byref(rep), sim._ref, world._h,
         policy._ref, int(first), int(n), ctypes.byref(o), owners=(policy, sim, world))
    return _report(rep)
