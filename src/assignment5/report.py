"""Render the report template from the workflow's result files and compile it to PDF.

    python -m assignment5.report --results '{"cnn": "results/default/theory/cnn.json", ...}' \
        --template report/assignment5.tex.j2 --tex results/default/report/assignment5.tex \
        --pdf report/assignment5.pdf --provenance results/default/report/provenance.json
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from assignment5 import paths, provenance, settings
from assignment5.io import read_json, write_json
from assignment5.latex import Latex, compile_pdf, environment, escape
from assignment5.step import guarded


def origins(results: dict[str, str]) -> dict[str, Latex]:
    """A small-type note per result, for the end of a caption: the rule and the file."""
    return {name: Latex(f"\\protect\\newline{{\\scriptsize [rule \\texttt{{{escape(paths.PRODUCED_BY.get(name, '?'))}}}, "
                        f"\\texttt{{{escape(path)}}}]}}") for name, path in results.items()}


def load_context(results: dict[str, str], tex_dir: Path) -> dict:
    """JSON inputs are loaded; figures become paths relative to the .tex file; each result's origin."""
    context: dict = {"fig": {}, "origin": origins(results)}
    for name, path in results.items():
        if path.endswith(".json"):
            context[name] = read_json(path)
        elif path.endswith((".pdf", ".png")):
            rel = os.path.relpath(Path(path).resolve(), tex_dir.resolve())
            context["fig"][name] = Latex(rel)
    return context


def render(template: Path, context: dict) -> str:
    return environment(template.parent).get_template(template.name).render(**context)


def run(s: settings.Report, *, results: dict[str, str], template: str, tex: str, pdf: str,
        provenance_out: str) -> None:
    tex_path = Path(tex)
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    context = load_context(results, tex_path.parent)
    context["prov"] = provenance.collect(s.budget)
    write_json(provenance_out, context["prov"])
    tex_path.write_text(render(Path(template), context))
    compile_pdf(tex_path, pdf, tex_path.parent / "build")
    print(f"wrote {pdf}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    settings.add_arguments(parser, "report")
    parser.add_argument("--results", required=True, help="JSON object: name -> result file")
    parser.add_argument("--template", required=True)
    parser.add_argument("--tex", required=True)
    parser.add_argument("--pdf", required=True)
    parser.add_argument("--provenance", required=True)
    args = parser.parse_args(argv)
    guarded(lambda: run(settings.from_args(args, "report"), results=json.loads(args.results),
                        template=args.template, tex=args.tex, pdf=args.pdf,
                        provenance_out=args.provenance))


if __name__ == "__main__":
    main()
