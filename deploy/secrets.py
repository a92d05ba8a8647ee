"""Generated secrets of the local stack: one file each, mode 0600, in SINERGI_HOME/secrets.

Never printed, never logged, never committed (the data folder is git-ignored).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from deploy.procs import StackError


def password_file(secrets_dir: Path, name: str) -> Path:
    return secrets_dir / f"{name}.password"


def read_password(secrets_dir: Path, name: str) -> str:
    path = password_file(secrets_dir, name)
    try:
        return path.read_text().strip()
    except OSError:
        raise StackError(
            f"no secret {path.name} in {secrets_dir}: run `sinergi stack up` first"
        ) from None


def ensure_password(secrets_dir: Path, name: str) -> str:
    path = password_file(secrets_dir, name)
    if path.exists():
        return path.read_text().strip()
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value
