"""Train the Rasa model and the learned safety layer only when their inputs changed.

Rasa's inputs: config.yml, domain.yml and the YAML under data/. Their hash is stored beside
the model, so `make run` and `make test` train once and then reuse the model for every
later run and test. Our own components (bot/components) learn nothing: Rasa loads their
code by module path at run time, so changing it needs no new model.

The learned safety layer (models/safety_head/, bot/safety/learned.py) keeps its own hash
of its training examples and code, and is retrained only when they change.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "assistant.tar.gz"
STAMP = ROOT / "models" / "assistant.inputs-sha256"
INPUT_GLOBS = [
    "config.yml",
    "domain.yml",
    "data/**/*.yml",
]


def inputs_digest() -> str:
    """SHA-256 over the training inputs' paths and contents, in a stable order."""
    digest = hashlib.sha256()
    files = sorted({p for g in INPUT_GLOBS for p in ROOT.glob(g) if p.is_file()})
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> int:
    """Train what is out of date; print what happened and how long it took.

    The safety head first: Rasa's SafetyScreen component loads it (with the encoder)
    when the pipeline is built, in training too.
    """
    status = train_safety_head()
    if status:
        return status
    return train_rasa()


def train_safety_head() -> int:
    """The learned safety layer, if its examples or code changed."""
    cmd = [sys.executable, "-m", "bot.safety.learned", "train", "--if-needed"]
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        print("training the safety head failed", file=sys.stderr)
    return result.returncode


def train_rasa() -> int:
    """The Rasa model, if config, domain or the NLU/story data changed."""
    digest = inputs_digest()
    if MODEL.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        print(f"model up to date: {MODEL.relative_to(ROOT)}")
        return 0
    print("training inputs changed: training the model ...", flush=True)
    start = time.monotonic()
    cmd = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        "--fixed-model-name",
        "assistant",
        "--out",
        "models",
        "--force",
    ]
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0 or not MODEL.exists():
        print("training failed", file=sys.stderr)
        return result.returncode or 1
    STAMP.write_text(digest + "\n")
    print(f"trained {MODEL.relative_to(ROOT)} in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
