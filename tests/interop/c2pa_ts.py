"""Run @trustnxt/c2pa-ts (pure TypeScript, independent of c2pa-rs) on a file: the second C2PA implementation.

Tests that need it take the `c2pa_ts` fixture; it skips them, saying why, where Node.js is missing (`.ci/run`
installs it) and installs the locked packages on first use (the npm registry must be reachable then).

The install is `npm install --no-save` from package-lock.json rather than `npm ci`: c2pa-ts's CBOR library lists
prebuilt native speed-ups for every platform as optional packages, a registry mirror that lacks them leaves them out
of the lock file, and `npm ci` then refuses the lock; `npm install` installs the locked versions all the same.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parent
SCRIPT = FOLDER / "c2pa_ts_validate.mjs"
NODE_SKIP_REASON = (
    "Node.js and npm are not installed, so the second C2PA implementation (@trustnxt/c2pa-ts) cannot run: "
    "install them (apt-get install nodejs npm; .ci/run does) to run the interop check"
)


@dataclass(frozen=True)
class C2paTsResult:
    is_valid: bool
    success: tuple[str, ...]
    failure: tuple[str, ...]


class C2paTs:
    def __init__(self, node: str):
        self.node = node

    def validate(self, asset: Path, store: Path | None = None) -> C2paTsResult:
        """c2pa-ts's judgement of asset's embedded manifest store, or of store judged against asset's bytes."""
        command = [self.node, str(SCRIPT), str(asset), *([str(store)] if store is not None else [])]
        finished = subprocess.run(command, cwd=FOLDER, capture_output=True, text=True, timeout=120, check=False)
        assert finished.returncode == 0, f"c2pa-ts failed to run: {finished.stderr}"
        answer = json.loads(finished.stdout.strip().splitlines()[-1])
        return C2paTsResult(answer["isValid"], tuple(answer["success"]), tuple(answer["failure"]))


@pytest.fixture(scope="session")
def c2pa_ts() -> C2paTs:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(NODE_SKIP_REASON)
    if not (FOLDER / "node_modules" / "@trustnxt" / "c2pa-ts").is_dir():
        # --ignore-scripts: the only install script builds an optional native CBOR speed-up; pure JS is used without.
        installed = subprocess.run(
            [npm, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=FOLDER,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert installed.returncode == 0, f"npm install in {FOLDER} failed:\n{installed.stderr[:2000]}"
    return C2paTs(node)
