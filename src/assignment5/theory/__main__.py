"""Derive sections 1 and 4 with sympy and write JSON plus LaTeX fragments.

    python -m assignment5.theory --layers '<json>' --input 256 256 3 \
        --cnn-out results/theory/cnn.json --vae-out results/theory/vae.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assignment5.io import write_json
from assignment5.theory import cnn, vae


def write_fragments(data: dict, folder: Path, prefix: str = "") -> None:
    """Every ``*_latex`` value also as a .tex file, ready to \\input into another document."""
    for key, value in data.items():
        if isinstance(value, dict):
            write_fragments(value, folder, f"{prefix}{key}-")
        elif key.endswith("_latex"):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{prefix}{key[:-6]}.tex").write_text(f"\\[ {value} \\]\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", required=True, help="JSON list of layers (config theory.cnn.layers)")
    parser.add_argument("--input", nargs=3, type=int, required=True, metavar=("H", "W", "C"))
    parser.add_argument("--cnn-out", required=True)
    parser.add_argument("--vae-out", required=True)
    args = parser.parse_args(argv)

    section1 = cnn.derive(args.input, json.loads(args.layers))
    section4 = vae.derive()
    for data, out in ((section1, args.cnn_out), (section4, args.vae_out)):
        write_json(out, data)
        write_fragments(data, Path(out).with_suffix("") / "tex")
    print(f"section 1: {section1['parameters_total']:,} parameters; "
          f"receptive field {section1['receptive_field'][-1]['field']}")
    print(f"section 4: KL = {section4['kl']['kl']}")


if __name__ == "__main__":
    main()
