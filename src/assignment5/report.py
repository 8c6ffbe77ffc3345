"""Render the report template from the workflow's result files and compile it to PDF."""

from __future__ import annotations

import os
from pathlib import Path

from assignment5 import paths, provenance, settings
from assignment5.io import read_json, write_json
from assignment5.latex import Latex, compile_pdf, environment


def sources(results: dict[str, str], produced_by: dict[str, str]) -> list[dict]:
    """The appendix's table: each result the PDF reads, the rule that wrote it (as Snakemake
    resolves it: the rule's params) and its file."""
    return [{"result": name, "rule": produced_by[name], "file": path} for name, path in results.items()]


def load_context(results: dict[str, str], tex_dir: Path, produced_by: dict[str, str]) -> dict:
    """JSON inputs are loaded; figures become paths relative to the .tex file; the sources table."""
    context: dict = {"fig": {}, "sources": sources(results, produced_by)}
    for name, path in results.items():
        if path.endswith(".json"):
            context[name] = read_json(path)
        elif path.endswith((".pdf", ".png")):
            rel = os.path.relpath(Path(path).resolve(), tex_dir.resolve())
            context["fig"][name] = Latex(rel)
    return context


def render(template: Path, context: dict) -> str:
    return environment(template.parent).get_template(template.name).render(**context)


def run(s: settings.Report, *, results: dict[str, str], produced_by: dict[str, str], template: str, tex: str,
        pdf: str, provenance_out: str) -> None:
    tex_path = Path(tex)
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    context = load_context(results, tex_path.parent, produced_by)
    context["prov"] = provenance.collect(s.budget)
    write_json(provenance_out, context["prov"])
    tex_path.write_text(render(Path(template), context))
    compile_pdf(tex_path, pdf, tex_path.parent / "build")
    print(f"wrote {pdf}")
