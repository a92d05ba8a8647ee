"""Which build is running: the package's version and, from a git checkout, its commit.

Shown by ``sinergi --version`` and on the processor's ``/metrics`` as
``sinergi_build_info{version,commit}``, so operations can tell which code answered. The
commit is read from the checkout's files (no ``git`` program needed); outside a checkout
it is ``unknown``.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from sinergi.config import REPO_ROOT

UNKNOWN = "unknown"


def version() -> str:
    try:
        return metadata.version("sinergi")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def commit(root: Path = REPO_ROOT) -> str:
    """The checked-out commit's first 12 hex digits, or ``unknown``."""
    git = _git_dir(root)
    if git is None:
        return UNKNOWN
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return _short(head)
        ref = head.removeprefix("ref: ")
        loose = git / ref
        if loose.is_file():
            return _short(loose.read_text().strip())
        common = _common_dir(git)
        loose = common / ref
        if loose.is_file():
            return _short(loose.read_text().strip())
        return _packed(common / "packed-refs", ref)
    except OSError:
        return UNKNOWN


def _git_dir(root: Path) -> Path | None:
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():  # a worktree: "gitdir: <path>"
        text = dot_git.read_text().strip()
        if text.startswith("gitdir: "):
            return (root / text.removeprefix("gitdir: ")).resolve()
    return None


def _common_dir(git: Path) -> Path:
    """A worktree keeps its branches in the main repository's folder (``commondir``)."""
    pointer = git / "commondir"
    if pointer.is_file():
        return (git / pointer.read_text().strip()).resolve()
    return git


def _packed(path: Path, ref: str) -> str:
    if not path.is_file():
        return UNKNOWN
    for line in path.read_text().splitlines():
        sha, _, name = line.partition(" ")
        if name == ref:
            return _short(sha)
    return UNKNOWN


def _short(sha: str) -> str:
    sha = sha.strip().lower()
    if len(sha) >= 12 and all(c in "0123456789abcdef" for c in sha):
        return sha[:12]
    return UNKNOWN
