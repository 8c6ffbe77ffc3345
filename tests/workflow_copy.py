"""Copy the workflow (not results or data) into a folder, so tests run it in isolation."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_workflow(dest: Path) -> Path:
    shutil.copy(ROOT / "Snakefile", dest / "Snakefile")
    for folder in ("workflow", "config"):
        shutil.copytree(ROOT / folder, dest / folder)
    (dest / "report").mkdir()
    for template in (ROOT / "report").glob("*.j2"):
        shutil.copy(template, dest / "report" / template.name)
    return dest
