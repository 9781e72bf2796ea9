"""Dated parameters: every rate, cap, threshold and split of the clauses.

The YAML files under ``parameters/`` hold, for each parameter, its source
section, the original Chinese sentence, an English gloss and a list of dated
values::

    a1.dt.rate:
      section: "4.1"
      sentence_zh: 按照年度技术合同成交额不超过1.5%给予补助
      gloss_en: a subsidy of at most 1.5% of the year's contract turnover
      unit: rate
      values:
        - {effective_from: 2020-01-01, effective_to: null, value: 0.015}

A city that changes a rate adds a dated value; Python does not change. Numbers
are read as ``Decimal`` straight from the YAML text (no float is ever made).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

DEFAULT_DIR = Path(__file__).parent / "parameters"
NUMERIC_UNITS = {"rate", "share", "ratio", "cny", "year"}
TEXT_UNITS = {"role"}


class ParameterError(ValueError):
    """A parameter file is malformed, or no value is in force on a date."""


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads YAML floats as ``Decimal`` from their source text."""


def _construct_decimal(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ParameterError(f"not a decimal number: {text!r}") from None


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)  # YAML float -> Decimal, never float


class _DecimalDumper(yaml.SafeDumper):
    """Writes a ``Decimal`` as the YAML number it is (``0.30``), which ``_DecimalLoader`` reads
    back exactly; an integral amount keeps a ``.0`` so that it stays a decimal."""


def _represent_decimal(dumper, value: Decimal):
    text = format(value, "f")
    if "." not in text:
        text += ".0"
    # the tag YAML resolves such a number to implicitly, which _DecimalLoader reads as Decimal
    return dumper.represent_scalar(dumper.resolve(yaml.ScalarNode, text, (True, False)), text)


_DecimalDumper.add_representer(Decimal, _represent_decimal)


@dataclass(frozen=True)
class DatedValue:
    effective_from: date
    effective_to: date | None  # inclusive; None: open-ended
    value: object

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class Parameter:
    name: str
    section: str
    sentence_zh: str
    gloss_en: str
    unit: str
    values: tuple[DatedValue, ...]
    description: str = ""

    def at(self, on: date):
        for v in self.values:
            if v.covers(on):
                return v.value
        raise ParameterError(f"no value of parameter {self.name} is in force on {on.isoformat()}")


@dataclass(frozen=True)
class ClauseText:
    """The source of a clause: section, Chinese sentence, English gloss, titles."""

    id: str
    section: str
    sentence_zh: str
    gloss_en: str
    title_zh: str
    title_en: str


@dataclass
class Parameters:
    """All parameters and clause texts, loaded from a directory of YAML files."""

    parameters: dict[str, Parameter]
    clauses: dict[str, ClauseText]
    source: str = ""
    _snapshots: dict = field(default_factory=dict, repr=False, compare=False)
    _clause_steps: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, directory: str | Path | None = None) -> "Parameters":
        directory = Path(directory) if directory is not None else DEFAULT_DIR
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ParameterError(f"no parameter files (*.yaml) in {directory}")
        parameters: dict[str, Parameter] = {}
        clauses: dict[str, ClauseText] = {}
        for path in files:
            try:
                with path.open(encoding="utf-8") as fh:
                    doc = yaml.load(fh, Loader=_DecimalLoader) or {}
            except yaml.YAMLError as exc:
                raise ParameterError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}") from None
            where = path.name
            for cid, c in (doc.get("clauses") or {}).items():
                if cid in clauses:
                    raise ParameterError(f"{where}: clause {cid} defined twice")
                clauses[cid] = _clause(where, cid, c)
            for name, p in (doc.get("parameters") or {}).items():
                if name in parameters:
                    raise ParameterError(f"{where}: parameter {name} defined twice")
                parameters[name] = _parameter(where, name, p)
        return cls(parameters=parameters, clauses=clauses, source=str(directory))

    def get(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(f"unknown parameter {name}") from None

    def value(self, name: str, on: date):
        return self.get(name).at(on)

    def at(self, on: date) -> dict[str, object]:
        """Every parameter's value in force on ``on`` (cached per date).

        A parameter with no value in force on that date is absent from the
        snapshot; a clause that needs it raises ``ParameterError``.
        """
        snap = self._snapshots.get(on)
        if snap is None:
            snap = _Snapshot(on)
            for name, p in self.parameters.items():
                for v in p.values:
                    if v.covers(on):
                        snap[name] = v.value
                        break
            self._snapshots[on] = snap
        return snap

    def amended(self, name: str, effective_from: date, value) -> "Parameters":
        """A copy in which ``name`` takes ``value`` from ``effective_from`` on (a reform).

        The value in force before that date ends the day before; values that would have
        started on or after it are replaced. ``value`` is checked exactly as a value read from
        the YAML files is (its unit, its range), so a draft can never hold what a file could
        not. The original is left untouched.
        """
        old = self.get(name)
        kept = []
        for v in old.values:
            if v.effective_from >= effective_from:
                continue
            end = v.effective_to
            if end is None or end >= effective_from:
                end = effective_from - timedelta(days=1)
            kept.append({"effective_from": v.effective_from, "effective_to": end, "value": v.value})
        kept.append({"effective_from": effective_from, "effective_to": None, "value": value})
        raw = {"section": old.section, "sentence_zh": old.sentence_zh, "gloss_en": old.gloss_en,
               "unit": old.unit, "description": old.description, "values": kept}
        parameters = dict(self.parameters)
        parameters[name] = _parameter("amendment", name, raw)
        return Parameters(parameters=parameters, clauses=dict(self.clauses), source=f"{self.source} (amended)")

    def dump(self, directory: str | Path) -> Path:
        """Write every clause text and parameter, with all its dated values, as one YAML file
        in ``directory`` that ``Parameters.load(directory)`` reads back to the same values.
        Auditors replay a reform outside the platform with it (``--parameters DIR``)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        doc = {
            "clauses": {
                cid: {"section": c.section, "title": {"zh": c.title_zh, "en": c.title_en},
                      "sentence_zh": c.sentence_zh, "gloss_en": c.gloss_en}
                for cid, c in sorted(self.clauses.items())
            },
            "parameters": {
                name: {"section": p.section, "sentence_zh": p.sentence_zh, "gloss_en": p.gloss_en,
                       "unit": p.unit, **({"description": p.description} if p.description else {}),
                       "values": [{"effective_from": v.effective_from, "effective_to": v.effective_to,
                                   "value": v.value} for v in p.values]}
                for name, p in sorted(self.parameters.items())
            },
        }
        path = directory / "parameters.yaml"
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh, Dumper=_DecimalDumper, allow_unicode=True, sort_keys=False, width=100)
        return path

    def clause(self, cid: str) -> ClauseText:
        try:
            return self.clauses[cid]
        except KeyError:
            raise ParameterError(f"no clause text for {cid}") from None


class _Snapshot(dict):
    def __init__(self, on: date):
        super().__init__()
        self.on = on

    def __missing__(self, name):
        raise ParameterError(f"no value of parameter {name} is in force on {self.on.isoformat()}")


def _require(where, mapping, key, kind=str):
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise ParameterError(f"{where}: missing {key}")
    value = mapping[key]
    if kind is str:
        value = str(value)
    return value


def _clause(where, cid, c) -> ClauseText:
    w = f"{where}: clause {cid}"
    title = c.get("title") or {}
    return ClauseText(
        id=cid,
        section=_require(w, c, "section"),
        sentence_zh=_require(w, c, "sentence_zh"),
        gloss_en=_require(w, c, "gloss_en"),
        title_zh=str(title.get("zh", cid)),
        title_en=str(title.get("en", cid)),
    )


def _parameter(where, name, p) -> Parameter:
    w = f"{where}: parameter {name}"
    unit = _require(w, p, "unit")
    if unit not in NUMERIC_UNITS | TEXT_UNITS:
        raise ParameterError(f"{w}: unknown unit {unit!r}")
    raw_values = p.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        raise ParameterError(f"{w}: values must be a non-empty list of dated values")
    values = []
    for i, rv in enumerate(raw_values):
        wi = f"{w}: values[{i}]"
        start = _require(wi, rv, "effective_from", kind=None)
        end = rv.get("effective_to")
        if not isinstance(start, date) or (end is not None and not isinstance(end, date)):
            raise ParameterError(f"{wi}: effective_from / effective_to must be dates (YYYY-MM-DD)")
        if end is not None and end < start:
            raise ParameterError(f"{wi}: effective_to {end} is before effective_from {start}")
        if "value" not in rv:
            raise ParameterError(f"{wi}: missing value")
        value = rv["value"]
        if unit in NUMERIC_UNITS:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise ParameterError(f"{wi}: value must be a number, got {value!r}")
            value = Decimal(value) if unit != "year" else int(value)
            if unit != "year" and value < 0:
                raise ParameterError(f"{wi}: value must not be negative")
            if unit in {"rate", "share"} and value > 1:
                raise ParameterError(f"{wi}: a {unit} must be between 0 and 1")
        else:
            value = str(value)
        values.append(DatedValue(start, end, value))
    values.sort(key=lambda v: v.effective_from)
    for i in range(len(values) - 1):
        a, b = values[i], values[i + 1]
        if a.effective_to is None:
            # An open-ended value ends the day before the next one takes effect.
            values[i] = a = DatedValue(a.effective_from, b.effective_from - timedelta(days=1), a.value)
        if a.effective_to >= b.effective_from:
            raise ParameterError(
                f"{w}: dated values overlap ({a.effective_from} … {a.effective_to} and {b.effective_from} …)"
            )
    return Parameter(
        name=name,
        section=_require(w, p, "section"),
        sentence_zh=_require(w, p, "sentence_zh"),
        gloss_en=_require(w, p, "gloss_en"),
        unit=unit,
        values=tuple(values),
        description=str(p.get("description", "")),
    )


@functools.lru_cache(maxsize=1)
def default_parameters() -> Parameters:
    """The parameters shipped with the engine (loaded once per process)."""
    return Parameters.load(DEFAULT_DIR)
