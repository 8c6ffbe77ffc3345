"""Run every benchmark and save their figures to bench/out/results.json.

    python bench/run_all.py        (or: make bench)
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_galaxy  # noqa: E402
import bench_mnist  # noqa: E402
import bench_parallel  # noqa: E402
import bench_tweets  # noqa: E402

from assignment5 import provenance  # noqa: E402


def main() -> None:
    results = {"machine": provenance.device_summary(), "mnist": bench_mnist.main(2),
               "tweets": bench_tweets.main(2), "galaxy": bench_galaxy.main(2),
               "parallel": bench_parallel.main()}
    out = Path(__file__).parent / "out" / "results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
