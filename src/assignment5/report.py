"""Render the report template from the workflow's result files and compile it to PDF.

    python -m assignment5.report --manifest '{"cnn": "results/theory/cnn.json", ...}' \
        --profile default --template report/assignment5.tex.j2 --tex results/report/a5.tex \
        --pdf report/assignment5.pdf
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from assignment5 import provenance
from assignment5.io import read_json, write_json
from assignment5.latex import Latex, compile_pdf, environment


def load_context(manifest: dict[str, str], tex_dir: Path) -> dict:
    """JSON inputs are loaded; figures become paths relative to the .tex file."""
    context: dict = {"fig": {}}
    for name, path in manifest.items():
        if path.endswith(".json"):
            context[name] = read_json(path)
        elif path.endswith((".pdf", ".png")):
            rel = os.path.relpath(Path(path).resolve(), tex_dir.resolve())
            context["fig"][name] = Latex(rel)
    return context


def render(template: Path, context: dict) -> str:
    return environment(template.parent).get_template(template.name).render(**context)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="JSON object: name -> result file")
    parser.add_argument("--profile", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--tex", required=True)
    parser.add_argument("--pdf", required=True)
    parser.add_argument("--provenance", required=True)
    args = parser.parse_args(argv)

    tex = Path(args.tex)
    tex.parent.mkdir(parents=True, exist_ok=True)
    context = load_context(json.loads(args.manifest), tex.parent)
    context["prov"] = provenance.collect(args.profile)
    write_json(args.provenance, context["prov"])
    tex.write_text(render(Path(args.template), context))
    compile_pdf(tex, args.pdf, tex.parent / "build")
    print(f"wrote {args.pdf}")


if __name__ == "__main__":
    main()
