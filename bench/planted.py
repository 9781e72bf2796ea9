#!/usr/bin/env python3
"""Plant each bug of issue 16 in a temporary copy of the tree and check that a named test fails.

    .venv/bin/python bench/planted.py [BUG...]      (source /work/shared-run/components.env first,
                                                     or run under scripts/test's components)

For every bug: the named tests must PASS on the unplanted copy (so a skip or an unrelated
failure cannot count as a kill), then the source is patched (an exact text replacement, shown
in PLANTS) and the same tests must FAIL. Prints JSON {bug: killed true/false}; the failing
test names and any problem go to stderr. The working tree itself is never touched.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# bug -> (file, text in the file, text planted instead, tests that must catch it); the texts may be
# tuples of several replacements made together
PLANTS = {
    "ledger hash leaves out occurred_on": (
        "marketplace/ledger/models.py",
        "material = json.dumps([int(seq), kind, ref, day, int(amount_fen),",
        "material = json.dumps([int(seq), kind, ref, int(amount_fen),",
        ["tests/ledger/test_golden.py"]),
    "reviewer and finance may refund an order": (
        "marketplace/permissions.py",
        "REFUND: Rule(lambda a, t: _role(a) == ADMIN or",
        "REFUND: Rule(lambda a, t: _role(a) in CITY_ROLES or",
        ["tests/orders/test_rights.py", "-k", "refund"]),
    "claims never leave the public notice page after the period": (
        "marketplace/review/services.py",
        "m.Claim.notice_from <= day, m.Claim.notice_until > day)",
        "m.Claim.notice_from <= day)",
        ["tests/review/test_notice_period.py", "-k", "leaves_the_public_notice"]),
    "objections accepted after the notice period ends": (
        "marketplace/review/services.py",
        # both guards: the explicit refusal after the period and the running-notice check
        ("claim.notice_until and day >= claim.notice_until:", "and claim.notice_from <= day < claim.notice_until)"),
        ("claim.notice_until and False:", "and claim.notice_from <= day)"),
        ["tests/review/test_notice_period.py", "-k", "objection_after"]),
    "webhook amount check removed": (
        "marketplace/payments/services.py",
        "    if event.amount_fen is not None and event.amount_fen != payment.amount_fen:\n"
        "        return \"amount_mismatch\"\n",
        "",
        ["tests/payments/test_app_flows.py", "-k", "another_amount"]),
    "moderating a listing is not sent to the search outbox": (
        "marketplace/listings/services.py",
        "after={\"status\": listing.status, \"note\": listing.moderation_note})\n    enqueue(\"search\", str(listing.id))\n",
        "after={\"status\": listing.status, \"note\": listing.moderation_note})\n",
        ["tests/listings/test_search_app.py", "-k", "moderat"]),
    "anyone may cancel a booking": (
        "marketplace/orders/services.py",
        "    perm.require(actor, perm.CANCEL_BOOKING, booking)\n",
        "",
        ["tests/orders/test_rights.py", "-k", "cancel"]),
    "a completed booking can be refunded": (
        "marketplace/payments/services.py",
        "    if order.booking is not None and not BOOKING.allows(order.booking.status, BookingStatus.CANCELLED):\n"
        "        raise Conflict(_(\"A completed booking cannot be refunded here; ask the city.\"))\n",
        "",
        ["tests/orders/test_rights.py", "-k", "completed"]),
    "a login lock never expires": (
        "marketplace/accounts/services.py",
        "waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]",
        "waits = [row.blocked_until - now for row in rows if row.blocked_until]",
        ["tests/security/test_login_throttle.py", "-k", "expires"]),
    # Not in the table, but asked by it: the Stripe gateway without its signature check.
    "stripe gateway signature check removed": (
        "marketplace/payments/gateway.py",
        "        try:\n            self._stripe.WebhookSignature.verify_header(\n",
        "        return _parse_event_body(bytes(payload))\n        try:\n"
        "            self._stripe.WebhookSignature.verify_header(\n",
        ["tests/payments/test_app_flows.py", "-k", "forged and stripe"]),
}


def _pytest(copy: Path, args: list[str]) -> tuple[int, list[str]]:
    env = dict(os.environ, CI="true")
    env.pop("TEST_DATABASE_URL", None)
    proc = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rf", "--no-header", *args], cwd=copy, env=env, capture_output=True, text=True)
    failed = [line.split(" ", 1)[1].split(" - ")[0] for line in proc.stdout.splitlines()
              if line.startswith(("FAILED ", "ERROR "))]
    return proc.returncode, failed


def main(selected: list[str]) -> int:
    bugs = selected or list(PLANTS)
    unknown = [b for b in bugs if b not in PLANTS]
    if unknown:
        print(f"unknown bugs: {unknown}; known: {list(PLANTS)}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="planted-"))
    copy = tmp / "repo"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns("mutants", ".cache", "__pycache__"))
    sys.path.insert(0, str(ROOT))
    from tests.policy import policy_dir  # ../shared beside the repository (or the main checkout of a worktree)

    shared = policy_dir().parent
    if shared.exists():  # tests read the policy from the repository's ../shared
        (tmp / "shared").symlink_to(shared.resolve())
    result = {}
    try:
        for bug in bugs:
            path, old, new, tests = PLANTS[bug]
            target = copy / path
            original = target.read_text(encoding="utf-8")
            olds, news = (old, new) if isinstance(old, tuple) else ((old,), (new,))
            if any(original.count(o) != 1 for o in olds):
                print(f"[planted] {bug}: the code to plant in is not in {path} (changed?)", file=sys.stderr)
                result[bug] = False
                continue
            planted = original
            for o, n in zip(olds, news):
                planted = planted.replace(o, n)
            rc, failed = _pytest(copy, tests)
            if rc != 0:
                print(f"[planted] {bug}: the tests fail before planting: {failed}", file=sys.stderr)
                result[bug] = False
                continue
            target.write_text(planted, encoding="utf-8")
            try:
                rc, failed = _pytest(copy, tests)
            finally:
                target.write_text(original, encoding="utf-8")
            # pytest exits 1 when tests failed; any other code (2: the plant broke collection,
            # 4/5: nothing ran) is not a test catching the bug.
            result[bug] = rc == 1
            print(f"[planted] {bug}: " + ("killed by " + ", ".join(failed) if rc == 1 else
                                         "SURVIVED" if rc == 0 else f"pytest exit {rc}, not a catch"), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if all(result.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
