"""The CLI of SCENARIO.md::

    python -m marketplace.subsidies evaluate SCENARIO.json              # JSON to stdout
    python -m marketplace.subsidies evaluate SCENARIO.json --explain zh # readable trace
    python -m marketplace.subsidies evaluate SCENARIO.json --parameters DIR
                                        # under another parameter folder (a reform, or the
                                        # values the platform had in force: flask subsidies
                                        # parameters --output DIR)

Bad input exits with status 2 and one line on stderr; nothing on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal

from .engine import evaluate
from .parameters import ParameterError, Parameters
from .scenario import Scenario, ScenarioError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2
        sys.stderr.write(f"usage error: {message}\n")
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m marketplace.subsidies", description="Liaocheng subsidy rules engine")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ev = sub.add_parser("evaluate", help="evaluate a scenario JSON file")
    ev.add_argument("file")
    ev.add_argument("--explain", choices=["zh", "en"], help="print a readable report instead of JSON")
    ev.add_argument("--parameters", metavar="DIR",
                    help="evaluate under the parameter files (*.yaml) in DIR instead of the shipped ones")
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(" ".join(str(message).split()) + "\n")
    return 2


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{args.file}: cannot read the scenario file: {exc.strerror if isinstance(exc, OSError) else exc}")
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return _fail(f"{args.file}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    except RecursionError:
        return _fail(f"{args.file}: the JSON is nested too deeply to be a scenario")
    except ValueError as exc:  # e.g. an integer of thousands of digits
        return _fail(f"{args.file}: unreadable JSON: {exc}")
    parameters = None
    if args.parameters:
        try:
            parameters = Parameters.load(args.parameters)
        except ParameterError as exc:
            return _fail(f"parameters: {args.parameters}: {exc}")
        except OSError as exc:
            return _fail(f"parameters: {args.parameters}: {exc.strerror}")
    try:
        scenario = Scenario.from_dict(data)
        result = evaluate(scenario, parameters=parameters)
    except ScenarioError as exc:
        return _fail(str(exc))
    except ParameterError as exc:
        return _fail(f"parameters: {exc}")
    if args.explain:
        out = result.explain(args.explain)
    else:
        out = json.dumps(result.to_dict("en"), ensure_ascii=False, indent=2) + "\n"
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
