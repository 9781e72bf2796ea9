"""Where the tests find the policy text: ``POLICY_DIR`` when set, else ``../shared/policy``
beside the repository, as in every checkout and in CI. In a git worktree (``.git`` is a file
naming the main repository's git directory) it is the one beside the main checkout; in a
clone of a local repository (``git clone /work/main /tmp/x``) the one beside the repository
it was cloned from. Missing, the tests that need it FAIL: a checkout without the policy must
not pass silently."""
from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def policy_dir() -> Path:
    if os.environ.get("POLICY_DIR"):
        return Path(os.environ["POLICY_DIR"])
    candidates = [ROOT.parent / "shared" / "policy"]
    git = ROOT / ".git"
    if git.is_file():  # "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text(encoding="utf-8").split(":", 1)[1].strip())
        if len(gitdir.parents) > 3:
            candidates.append(gitdir.parents[2].parent / "shared" / "policy")
    elif (git / "config").is_file():  # a clone: its origin, when that is a folder on this machine
        origin = re.search(r'\[remote "origin"\][^\[]*?\burl\s*=\s*(\S+)', (git / "config").read_text(encoding="utf-8"))
        url = origin.group(1).removeprefix("file://") if origin else ""
        if url and not re.match(r"^\w+://|^[^/]+@|^[^/]+:", url):  # not https://, ssh or host:path
            source = Path(url)
            source = source if source.is_absolute() else (ROOT / source)
            candidates.append(source.resolve().parent / "shared" / "policy")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def policy_file(name: str) -> Path:
    path = policy_dir() / name
    assert path.exists(), f"the policy text is missing: {path} (the repository's ../shared/policy)"
    return path
