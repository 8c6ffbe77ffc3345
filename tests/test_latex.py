"""Escaping, strict rendering and a LaTeX failure that leaves no stale PDF."""

import shutil

import jinja2
import pytest

from assignment5.latex import Latex, LatexError, compile_pdf, environment, escape

pytestmark = pytest.mark.unit  # make check: the fast tier


def test_escape_specials_and_non_ascii():
    assert escape("50% of $x_1 & {y}#~^\\") == (
        r"50\% of \$x\_1 \& \{y\}\#\textasciitilde{}\textasciicircum{}\textbackslash{}")
    assert escape("café \x1a") == "caf? ?"
    assert escape("[x]") == "{[}x{]}"


def test_strings_are_escaped_unless_marked(tmp_path):
    (tmp_path / "t.tex.j2").write_text(r"\VAR{a} \VAR{b} \VAR{n|fmt}")
    out = environment(tmp_path).get_template("t.tex.j2").render(a="a_b", b=Latex(r"\alpha_1"), n=12345)
    assert out == r"a\_b \alpha_1 12,345"


def test_missing_value_is_an_error(tmp_path):
    (tmp_path / "t.tex.j2").write_text(r"\VAR{nothing.here}")
    with pytest.raises(jinja2.UndefinedError):
        environment(tmp_path).get_template("t.tex.j2").render()


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="TeX is installed by scripts/setup.sh")
def test_latex_failure_reports_log_lines_and_keeps_the_last_good_pdf(tmp_path):
    tex = tmp_path / "bad.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    pdf = tmp_path / "out.pdf"
    pdf.write_text("last good")
    with pytest.raises(LatexError, match="Undefined control sequence"):
        compile_pdf(tex, pdf, tmp_path / "build")
    assert pdf.read_text() == "last good"


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="TeX is installed by scripts/setup.sh")
def test_a_table_row_starting_with_a_bracket_compiles(tmp_path):
    """After \\\\ a "[" would open an optional argument ("Missing number")."""
    (tmp_path / "t.tex.j2").write_text(
        "\\documentclass{article}\\begin{document}\\begin{tabular}{l}a\\\\\n\\VAR{t}\\\\\n"
        "\\end{tabular}\\end{document}\n")
    tex = tmp_path / "t.tex"
    tex.write_text(environment(tmp_path).get_template("t.tex.j2").render(t="[link] 5% off]"))
    compile_pdf(tex, tmp_path / "t.pdf", tmp_path / "build")
    assert (tmp_path / "t.pdf").exists()
