"""The GPU check a maintainer runs on a machine with an accelerator (make gpu-check
DATA=/path/to/data): the whole smoke budget on the accelerator PyTorch reports (CUDA, MPS or XPU),
in a scratch copy of the workflow, then each run's device, precision and throughput.

    python scripts/gpu_check.py /path/to/data
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from assignment5.training import describe_device

ROOT = Path(__file__).resolve().parents[1]


def main(data_dir: str) -> int:
    found = torch.accelerator.current_accelerator(check_available=True)
    if found is None:
        print("gpu-check: PyTorch sees no accelerator (CUDA, MPS, XPU) on this machine; nothing to check",
              file=sys.stderr)
        return 2
    print(f"gpu-check: {describe_device(found)}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shutil.copy(ROOT / "Snakefile", work)
        for folder in ("workflow", "config", "report"):
            shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("*.pdf"))
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "4", "--configfile",
                                 "config/smoke.yaml", "--config", f"data_dir={Path(data_dir).resolve()}",
                                 f"device={found.type}"], cwd=work)
        print(f"gpu-check: smoke budget on the accelerator, end to end: {time.perf_counter() - start:.0f} s")
        if result.returncode:
            return result.returncode
        for history in sorted((work / "results" / "smoke").rglob("history.json")):
            h = json.loads(history.read_text())
            rate = (f"{h['iterations_per_second']:.0f} iterations/s" if "iterations_per_second" in h
                    else f"{h['images_per_second']:.0f} images/s")
            print(f"  {history.parent.relative_to(work / 'results' / 'smoke')}: "
                  f"{h['settings']['device_used']}, {h['settings']['precision']}, {rate}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "data/external"))
