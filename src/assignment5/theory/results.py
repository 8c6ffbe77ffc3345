"""Derive sections 1 and 4 with sympy and write them as JSON."""

from __future__ import annotations


from assignment5 import settings
from assignment5.io import write_json
from assignment5.theory import cnn, vae


def run(s: settings.Theory, *, cnn_out: str, vae_out: str) -> tuple[dict, dict]:
    section1 = cnn.derive(list(s.input), list(s.layers))
    section4 = vae.derive()
    write_json(cnn_out, section1)
    write_json(vae_out, section4)
    print(f"section 1: {section1['parameters_total']:,} parameters; "
          f"receptive field {section1['receptive_field'][-1]['field']}")
    print(f"section 4: KL = {section4['kl']['kl']}")
    return section1, section4
