"""Jinja2 LaTeX rendering with escaping by default, and a latexmk build that fails loudly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2

from assignment5.errors import InputError

_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    # braced, so a "[" after "\\" (a table row that starts with it) is not an optional argument
    "[": "{[}", "]": "{]}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIALS))


class Latex(str):
    """A string that is already LaTeX (sympy output, fragments): passed through unescaped."""


def escape(text: str) -> str:
    """Escape LaTeX specials; characters outside printable ASCII become '?' (pdflatex-safe)."""
    text = _SPECIAL_RE.sub(lambda m: _SPECIALS[m.group()], str(text))
    return "".join(c if 32 <= ord(c) < 127 or c == "\n" else "?" for c in text)


def _finalize(value):
    if isinstance(value, Latex):
        return value
    if isinstance(value, bool) or value is None:
        return escape(str(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def fmt(value, spec: str = ",") -> str:
    """Number formatting filter: ``\\VAR{x|fmt('.2f')}``; thousands separators by default."""
    return format(value, spec)


def percent(value: float, digits: int = 2) -> Latex:
    return Latex(f"{100 * value:.{digits}f}\\,\\%")


def environment(template_dir: str | Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix="%%", line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
        undefined=jinja2.StrictUndefined, finalize=_finalize,
    )
    env.filters.update(fmt=fmt, percent=percent, latex=Latex, e=escape)
    return env


_FILE_LINE_ERROR = re.compile(r"^\S+\.(tex|sty|cls):\d+: ")  # -file-line-error format


class LatexError(InputError):
    pass


def log_errors(log_text: str, context: int = 3, limit: int = 40) -> str:
    """The '!' error lines of a LaTeX log with a few lines after each (where TeX says l.N)."""
    lines = log_text.splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!") or _FILE_LINE_ERROR.match(line):
            picked.extend(lines[i: i + context + 1])
            picked.append("...")
    return "\n".join(picked[:limit]) or "\n".join(lines[-limit:])


def compile_pdf(tex_path: str | Path, pdf_path: str | Path, build_dir: str | Path) -> None:
    """latexmk into build_dir; on success move the PDF into place atomically.

    On failure the previous PDF is kept (the rule marks it update(), so Snakemake restores it
    too) and the error carries the relevant lines of the LaTeX log.
    """
    tex_path, pdf_path, build_dir = Path(tex_path), Path(pdf_path), Path(build_dir)
    if shutil.which("latexmk") is None:
        raise LatexError("latexmk not found: run scripts/setup.sh (installs TeX Live)")
    build_dir.mkdir(parents=True, exist_ok=True)
    # Run beside the .tex file: figure paths in it are relative to its folder.
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"-outdir={build_dir.resolve()}", tex_path.name]
    env = dict(os.environ, max_print_line="200")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tex_path.parent)
    built = build_dir / (tex_path.stem + ".pdf")
    if result.returncode != 0 or not built.exists():
        log_file = build_dir / (tex_path.stem + ".log")
        log = log_file.read_text(errors="replace") if log_file.exists() else result.stdout
        raise LatexError(f"LaTeX failed on {tex_path} (full log: {log_file}):\n{log_errors(log)}")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=pdf_path.parent, suffix=".pdf", delete=False) as tmp:
        shutil.copyfile(built, tmp.name)
    shutil.copymode(built, tmp.name)  # a temporary file is private (0600); the PDF should not be
    os.replace(tmp.name, pdf_path)
