"""The registry of workloads, in the order they run. A new workload is one module plus one line."""

from . import hw3_report, import_time, w1_seed_q2, w2_mlp, w3_scalar_mlp, w4_chain, w5_cli_startup

ALL = (
    w1_seed_q2.WORKLOAD,
    w2_mlp.WORKLOAD,
    w3_scalar_mlp.WORKLOAD,
    w4_chain.WORKLOAD,
    w2_mlp.SMALL_WORKLOAD,
    import_time.WORKLOAD,
    w5_cli_startup.WORKLOAD,
    hw3_report.WORKLOAD,
)


def by_key(keys):
    """The workloads named in ``keys`` (case-insensitive), in registry order; unknown keys raise."""
    wanted = {k.upper() for k in keys}
    unknown = wanted - {w.key for w in ALL}
    if unknown:
        known = ", ".join(w.key for w in ALL)
        raise SystemExit(f"unknown workload(s) {', '.join(sorted(unknown))}; known: {known}")
    return tuple(w for w in ALL if w.key in wanted)
