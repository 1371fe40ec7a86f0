"""SHA-256 of the saved weights of short fixed-seed runs: the check that a reshaping changed nothing.

    python benchmarks/behaviour_hashes.py            # prints one line per preset and writes the JSON
    python benchmarks/behaviour_hashes.py --check    # exit 1 unless every hash equals the recorded one

Each run is ``numnet train --model PRESET --limit 2000 --epochs 1 --workers 1 --save F`` (one worker, so
no thread scheduling enters the sums); the hash covers every array of F (weights and optimizer state, not the
JSON entry, which holds the history's wall-clock seconds), read back with ``allow_pickle=False``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PRESETS = ("mlp", "cnn", "lstm", "vit")
RECORD = Path(__file__).with_name("behaviour_hashes.json")


def weights_hash(path) -> str:
    """One SHA-256 over the sorted digests of every array (dtype, shape, bytes): the same weights give
    the same hash whatever the arrays are named or however the file orders them."""
    with np.load(path, allow_pickle=False) as f:
        parts = sorted(hashlib.sha256(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()).hexdigest()
                       for a in (f[name] for name in f.files if name != "__config__"))
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def run(preset: str, folder: str) -> str:
    path = os.path.join(folder, f"{preset}.npz")
    cmd = [sys.executable, "-m", "numnet", "train", "--model", preset, "--limit", "2000", "--epochs", "1",
           "--workers", "1", "--save", path, "--json"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return weights_hash(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the recorded hashes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        hashes = {preset: run(preset, folder) for preset in PRESETS}
    for preset, h in hashes.items():
        print(f"{preset:5s} {h}")
    if args.check:
        recorded = json.loads(RECORD.read_text())
        differ = [p for p in PRESETS if recorded.get(p) != hashes[p]]
        print("identical" if not differ else f"DIFFERENT: {', '.join(differ)}")
        return 1 if differ else 0
    RECORD.write_text(json.dumps(hashes, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
