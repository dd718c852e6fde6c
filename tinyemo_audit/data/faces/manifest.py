"""The faces corpus's twins written as a counterfactual manifest (PNG files and a CSV), the format users bring.

A user's counterfactual sets and the corpus's rendered twins go through the same interface
(:mod:`tinyemo_audit.data.counterfactuals`). Writing the rendered twins in the user's format shows
the two are one: ``run --dataset faces --counterfactuals OUT/counterfactuals.csv`` reproduces the
twin probes of ``run --dataset faces`` (a test checks it), and the files are a worked example of
the format.

Run ``python -m tinyemo_audit.data.faces.manifest OUT_DIR [--n-twins N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import TinyEmoAuditError
from .attributes import EXPRESSIONS
from .corpus import AUDITED_ATTRIBUTES, FacesConfig, load_twins

MANIFEST = "counterfactuals.csv"


def twin_manifest(folder: str | Path, *, n_identities: int, attributes=AUDITED_ATTRIBUTES,
                  config: FacesConfig = FacesConfig()) -> Path:
    """Write ``folder/images/<attribute>/<set>-<value>.png`` and ``folder/counterfactuals.csv``.

    Rows are identity-major in the renderer's value order, so that a manifest read back gives the
    same sets, values and reference as the rendered twins. Returns the manifest's path.
    """
    from PIL import Image

    from ..._io import atomic_directory

    folder = Path(folder)
    rows = []
    with atomic_directory(folder) as tmp:
        for attribute in attributes:
            twins = load_twins(attribute, config, n_identities=n_identities)
            (tmp / "images" / attribute).mkdir(parents=True)
            for i, set_id in enumerate(twins.ids):
                for j, value in enumerate(twins.values):
                    relative = f"images/{attribute}/{set_id}-{value}.png"  # set ids: one per attribute
                    Image.fromarray(np.asarray(twins.images[i, j])).save(tmp / relative)
                    rows.append({"set_id": f"{attribute}:{set_id}", "attribute": attribute, "value": value, "path": relative,
                                 "label": EXPRESSIONS[int(twins.labels[i])]})
        pd.DataFrame(rows).to_csv(tmp / MANIFEST, index=False)
    return folder / MANIFEST


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyemo_audit.data.faces.manifest OUT_DIR [--n-twins N]``."""
    parser = argparse.ArgumentParser(prog="python -m tinyemo_audit.data.faces.manifest")
    parser.add_argument("out", metavar="OUT_DIR")
    parser.add_argument("--n-twins", type=int, default=420, help="identities per attribute")
    args = parser.parse_args(argv)  # a bad command line exits 2 with the usage
    try:
        print(twin_manifest(args.out, n_identities=args.n_twins))
    except (TinyEmoAuditError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
