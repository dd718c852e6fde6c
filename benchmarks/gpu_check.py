"""GPU check for a machine with CUDA: ``--device cuda`` against ``--device cpu`` for embed, eval, run, train and explain.

One short script (a few minutes on one GPU) for the machine a session is lent. It writes a small
``csv:`` dataset (rendered faces with their attributes: train 600, val 200, test 200 images) into
a temporary folder, then runs the real commands in fresh processes, once with ``--device cpu``
and once with ``--device cuda``, and compares:

- ``embed`` (local engine, all three splits): features equal to 1e-4 (max absolute difference);
- ``embed --engine ray --actors 1`` on cuda (the actor takes the GPU): features equal to the CPU's to 1e-4;
- ``eval --json``: same n and labels; predictions may differ only where two labels' similarities
  tie within float error, so accuracy within 0.5 point and at most 0.5 % of the confusion matrix moved;
- ``run``: same n, same verdict status, overall accuracy within 0.5 point (its MM-LLM stage runs on cuda);
- ``train`` (a projector on the CPU store's features, 2 epochs): both finish; GPU training is not
  bit-reproducible, so their test accuracies (eval on the store) must be within 3 points;
- ``explain --n 4 --json`` on cuda: 4 records whose projector labels equal the CPU's (the
  generated texts are reported, not compared: greedy decoding may take another token on a tie).

Prints one ``PASS``/``FAIL`` line per check and exits 1 on any FAIL. Without CUDA it prints
``no CUDA device: nothing checked`` and exits 0.

    python benchmarks/gpu_check.py [--keep DIR] [--timeout 240]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FEATURE_ATOL = 1e-4
ACCURACY_POINTS = 0.005
TRAIN_POINTS = 0.03
SIZES = {"train": 600, "val": 200, "test": 200}


def _cli(args: list[str], timeout: float, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "TINYEMO_AUDIT_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def _ok(result: subprocess.CompletedProcess) -> None:
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise AssertionError(f"exit {result.returncode}: {last[:300]}")


def _write_dataset(folder: Path) -> Path:
    """Rendered faces as PNG files and a CSV manifest with split, label and attribute columns."""
    from PIL import Image

    from tinyemo_audit.data.faces import FacesConfig, load_faces

    config = FacesConfig(n_train=SIZES["train"], n_val=SIZES["val"], n_test=SIZES["test"])
    rows = []
    for split in SIZES:
        data = load_faces(split, config, cache=False)
        (folder / split).mkdir(parents=True)
        for i, image in enumerate(data.images):
            name = f"{split}/{i:04d}.png"
            Image.fromarray(image).save(folder / name)
            row = {"path": name, "label": data.classes[data.labels[i]], "id": f"{split}-{i:04d}", "split": split}
            row.update({c: data.attributes[c].iloc[i] for c in ("gender", "skin_group", "age")})
            rows.append(row)
    import pandas as pd

    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def _features(store: Path) -> dict[str, np.ndarray]:
    from tinyemo_audit.data.feature_store import read_feature_store

    return {split: np.asarray(read_feature_store(store, split).features) for split in SIZES}


def _max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(float(np.abs(a[s] - b[s]).max()) for s in SIZES)


class Checks:
    """Runs the checks, prints a line for each, remembers failures."""

    def __init__(self, work: Path, timeout: float, device: str) -> None:
        self.work, self.timeout, self.device, self.failed = work, timeout, device, 0

    def check(self, name: str, fn) -> None:
        try:
            detail = fn()
            print(f"PASS {name}: {detail}", flush=True)
        except Exception as err:  # noqa: BLE001 - a check that breaks is a FAIL line, and the others still run
            self.failed += 1
            print(f"FAIL {name}: {' '.join(str(err).split())[:400] or type(err).__name__}", flush=True)

    def run(self, *args: str, side: str = "cpu") -> subprocess.CompletedProcess:
        """A command in a fresh process; the CPU side and the compared side each have their own cache, so
        neither reads features the other computed (also when both are the CPU, in a self-test)."""
        result = _cli(list(args), self.timeout, self.work / f"cache-{side}")
        _ok(result)
        return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the data, stores, bundles and runs here")
    parser.add_argument("--timeout", type=float, default=240, help="seconds per command")
    parser.add_argument("--against", default="cuda",
                        help="the device compared with cpu (default cuda; 'cpu' runs every check cpu against cpu: "
                             "a test of this script on a machine without a GPU)")
    args = parser.parse_args(argv)

    import torch

    if args.against != "cpu" and not torch.cuda.is_available():
        print("no CUDA device: nothing checked")
        return 0
    sys.path.insert(0, str(ROOT))
    work = args.keep or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name(0) if args.against != "cpu" else "none (cpu against cpu)"
    print(f"CUDA: {name}; work folder {work}", flush=True)
    checks = Checks(work, args.timeout, args.against)
    gpu = args.against
    try:
        manifest = _write_dataset(work / "data")
        spec = f"csv:{manifest}"
        weights = ROOT / "models" / "tinyemo-faces-mini" / "encoder.safetensors"
        embed = ["embed", "--encoder", "faces-mini", "--weights", str(weights), "--dataset", spec]
        stores: dict[str, dict[str, np.ndarray]] = {}

        def embed_on(device: str, key: str, *extra: str):
            def go():
                checks.run(*embed, "--out", str(work / f"store-{key}"), "--device", device, *extra)  # no cache used
                stores[key] = _features(work / f"store-{key}")
                if key == "cpu":
                    return f"{sum(len(v) for v in stores['cpu'].values())} images encoded (the reference)"
                diff = _max_diff(stores[key], stores["cpu"])
                if not diff <= FEATURE_ATOL:
                    raise AssertionError(f"max |{device} - cpu| = {diff:.2e} > {FEATURE_ATOL}")
                return f"max |{device} - cpu| = {diff:.2e} <= {FEATURE_ATOL}"
            return go

        checks.check("embed --device cpu", embed_on("cpu", "cpu"))
        checks.check(f"embed --device {gpu}", embed_on(gpu, "local"))
        checks.check(f"embed --engine ray --actors 1 --device {gpu}",
                     embed_on(gpu, "ray", "--engine", "ray", "--actors", "1"))

        def evaluation():
            cpu, cuda = (json.loads(checks.run("eval", "--dataset", spec, "--json", "--device", d, side=side).stdout)
                         for d, side in (("cpu", "cpu"), (gpu, "other")))
            if cpu["n"] != cuda["n"]:
                raise AssertionError(f"n {cpu['n']} (cpu) != {cuda['n']} ({gpu})")
            gap = abs(cpu["accuracy"] - cuda["accuracy"])
            moved = np.abs(np.asarray(cpu["confusion"]) - np.asarray(cuda["confusion"])).sum() / 2
            if gap > ACCURACY_POINTS or moved > 0.005 * cpu["n"]:
                raise AssertionError(f"accuracy {cpu['accuracy']:.4f} (cpu) vs {cuda['accuracy']:.4f} ({gpu}), "
                                     f"{moved:.0f} items moved in the confusion matrix")
            return (f"n {cpu['n']}, accuracy {cpu['accuracy']:.4f} (cpu) vs {cuda['accuracy']:.4f} ({gpu}), "
                    f"{moved:.0f} moved")

        checks.check(f"eval --device {gpu}", evaluation)

        def audit():
            results = []
            for i, device in enumerate(("cpu", gpu)):
                checks.run("run", "--dataset", spec, "--out", str(work / f"run-{i}-{device}"), "--device", device,
                           side=("cpu", "other")[i])
                results.append(json.loads((work / f"run-{i}-{device}" / "results.json").read_text()))
            status = [r["verdict"]["status"] for r in results]
            n = [r["run"]["n"] for r in results]
            accuracy = [r["performance"]["overall"]["accuracy"]["value"] for r in results]
            if status[0] != status[1] or n[0] != n[1]:
                raise AssertionError(f"verdict {status}, n {n} (cpu, {gpu})")
            if abs(accuracy[0] - accuracy[1]) > ACCURACY_POINTS:
                raise AssertionError(f"accuracy {accuracy[0]:.4f} (cpu) vs {accuracy[1]:.4f} ({gpu})")
            return (f"verdict {status[1]!r} on both, n {n[1]}, accuracy {accuracy[0]:.4f} (cpu) vs {accuracy[1]:.4f}, "
                    f"findings {len(results[0]['findings'])} vs {len(results[1]['findings'])}")

        checks.check(f"run --device {gpu} (encoder, projector, MM-LLM)", audit)

        def training():
            store = work / "store-cpu"
            accuracy = []
            for i, device in enumerate(("cpu", gpu)):
                bundle = work / f"bundle-{i}-{device}"
                checks.run("train", "--dataset", f"features:{store}", "--encoder", "faces-mini", "--label-space",
                           "smollm2-135m", "--epochs", "2", "--seed", "0", "--out", str(bundle), "--device", device,
                           side=("cpu", "other")[i])
                result = checks.run("eval", "--model", str(bundle), "--dataset", f"features:{store}", "--json",
                                    "--device", "cpu")
                accuracy.append(json.loads(result.stdout)["accuracy"])
            if abs(accuracy[0] - accuracy[1]) > TRAIN_POINTS:
                raise AssertionError(f"test accuracy {accuracy[0]:.4f} (trained on cpu) vs {accuracy[1]:.4f} ({gpu})")
            return f"test accuracy {accuracy[0]:.4f} (trained on cpu) vs {accuracy[1]:.4f} ({gpu})"

        checks.check(f"train --device {gpu}", training)

        def explaining():
            cpu, other = (json.loads(checks.run("explain", "--dataset", spec, "--n", "4", "--json", "--device", d,
                                                side=side).stdout)
                          for d, side in (("cpu", "cpu"), (gpu, "other")))
            if len(other) != 4:
                raise AssertionError(f"{len(other)} records, expected 4")
            labels = [[r["projector_label"] for r in rs] for rs in (cpu, other)]
            if labels[0] != labels[1]:
                raise AssertionError(f"projector labels {labels[0]} (cpu) vs {labels[1]} ({gpu})")
            same = sum(a["reasoning"] == b["reasoning"] for a, b in zip(cpu, other))
            return f"4 explanations; projector labels equal; {same}/4 texts identical to the CPU's"

        checks.check(f"explain --n 4 --device {gpu}", explaining)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'FAIL' if checks.failed else 'PASS'}: {checks.failed} of 7 checks failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
