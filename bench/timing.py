"""The benchmarks' timer (assignment5.timing.compare, shared with `kernel: auto`) and their report line."""

from __future__ import annotations

from assignment5.timing import compare  # noqa: F401  (the benchmarks import it from here)


def report(title: str, unit: str, result: dict) -> str:
    from assignment5.provenance import machine_tag

    return (f"{title}: workflow {result['fast']:.1f} {unit}, baseline {result['baseline']:.1f} {unit}, "
            f"ratio {result['ratio']:.2f}x (per-round range {result['ratio_min']:.2f}-{result['ratio_max']:.2f})"
            f"\n    on {machine_tag()}")
