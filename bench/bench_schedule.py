"""How much the job priorities (resources.priority) shorten a run, simulated from measured times.

    python bench/bench_schedule.py [benchmarks folder or times.json] [--cores 2] [--rounds 2000]

Reads each job's wall time from a finished run's benchmark files (results/<budget>/benchmarks/,
default: the default budget's), or from a JSON file of them (bench/times-intel-fp32.json: the
per-rule times of the Intel end-to-end run in docs/run-times.md), and the job graph from `snakemake --dag`,
then replays the run as a list schedule: whenever a core is free it starts the ready job of highest priority, each job on one
core (the default profile on 2 cores gives every job 1 thread). Snakemake breaks ties between equal
priorities in its own way, so ties are broken at random and each policy is replayed --rounds times.
It prints the median and range of the simulated wall time for every job equal (no priorities), the
ranks alone (a clean clone: no rate measured yet) and the ranks with the measured estimates, their
ratios to the first, and the lower bound (all work spread evenly over the cores).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

from assignment5 import paths, resources, settings

ROOT = Path(__file__).resolve().parent.parent


def job_graph(cores: int, config_args: list[str]) -> tuple[dict[str, tuple[str, str | None]], dict[str, set]]:
    """{node: (rule, wildcard value)} and {node: nodes it waits for}, from `snakemake --dag`."""
    dot = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--forceall", "--dag",
                          *config_args], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    nodes = {}
    for node, label in re.findall(r'^\s*(\d+)\[label = "([^"]*)"', dot, re.M):
        rule, *wildcards = label.split("\\n")
        nodes[node] = (rule, wildcards[0].split(": ", 1)[1] if wildcards else None)
    waits = {node: set() for node in nodes}
    for before, after in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M):
        waits[after].add(before)
    return nodes, waits


def measured_times(source: Path) -> dict[str, float]:
    """{benchmark name: wall seconds}: the benchmark files in the folder `source`, or the JSON
    file `source` itself."""
    if source.suffix == ".json":
        return {name: float(s) for name, s in json.loads(source.read_text()).items() if not name.startswith("_")}
    return {path.stem: float(path.read_text().splitlines()[1].split("\t")[0]) for path in source.glob("*.tsv")}


def benchmark_name(rule: str, wildcard: str | None) -> str:
    """The name of a job's benchmark file (P.benchmark): the rule, then its wildcard after "_"."""
    return f"{rule}{'_' + wildcard if wildcard else ''}"


def replay(seconds: dict, waits: dict, priority: dict, cores: int, rng: random.Random) -> float:
    """Wall time of a list schedule: a free core takes the ready job of highest priority."""
    done, running, clock = {}, [], 0.0
    while len(done) < len(seconds):
        started = {job for _, job in running}
        ready = [j for j in seconds if j not in done and j not in started and waits[j] <= done.keys()]
        rng.shuffle(ready)
        ready.sort(key=lambda j: -priority[j])
        for job in ready[:cores - len(running)]:
            running.append((clock + seconds[job], job))
        running.sort()
        clock, job = running.pop(0)
        done[job] = clock
    return clock


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmarks", nargs="?", default=str(ROOT / paths.for_budget("default").results / "benchmarks"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--config", nargs="*", default=[], help="passed to snakemake --config (e.g. data_dir=...)")
    args = parser.parse_args(argv)
    nodes, waits = job_graph(args.cores, ["--config", *args.config] if args.config else [])
    folder = Path(args.benchmarks)
    times = measured_times(folder)  # a job without one (all, tiny local rules) counts as 0 s
    seconds = {node: times.get(benchmark_name(*nodes[node]), 0.0) for node in nodes}
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    study, archs = settings.lr_study_runs(config), paths.GALAXY_ARCHS
    measured = {resources.job_key(*nodes[node]): seconds[node] for node in nodes}
    policies = {
        "every job equal": {node: 0 for node in nodes},
        "ranks alone (no rate measured)": {
            node: resources.priority({}, *nodes[node], study_runs=study, galaxy_archs=archs) for node in nodes},
        "ranks and measured estimates": {
            node: resources.priority(measured, *nodes[node], study_runs=study, galaxy_archs=archs) for node in nodes},
    }
    rng = random.Random(0)
    results = {"lower_bound_min": sum(seconds.values()) / args.cores / 60}
    baseline = None
    print(f"{len(nodes)} jobs, {sum(seconds.values()) / 60:.1f} min of work from {folder}, {args.cores} cores; "
          f"lower bound {results['lower_bound_min']:.1f} min")
    for name, priority in policies.items():
        minutes = [replay(seconds, waits, priority, args.cores, rng) / 60 for _ in range(args.rounds)]
        median = statistics.median(minutes)
        baseline = baseline or median
        results[name] = {"median_min": median, "min_min": min(minutes), "max_min": max(minutes)}
        print(f"{name:32s} median {median:6.1f} min (range {min(minutes):.1f}-{max(minutes):.1f}), "
              f"{baseline / median:.2f}x against every job equal")
    return results


if __name__ == "__main__":
    main()
