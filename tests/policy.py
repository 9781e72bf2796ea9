"""Where the tests find the policy text: ``../shared/policy`` beside the repository, as in
every checkout and in CI. In a git worktree (``.git`` is a file naming the main repository's
git directory) it is the one beside the main checkout. Missing, the tests that need it FAIL:
a checkout without the policy must not pass silently."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def policy_dir() -> Path:
    candidates = [ROOT.parent / "shared" / "policy"]
    git = ROOT / ".git"
    if git.is_file():  # "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text(encoding="utf-8").split(":", 1)[1].strip())
        if len(gitdir.parents) > 3:
            candidates.append(gitdir.parents[2].parent / "shared" / "policy")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def policy_file(name: str) -> Path:
    path = policy_dir() / name
    assert path.exists(), f"the policy text is missing: {path} (the repository's ../shared/policy)"
    return path
