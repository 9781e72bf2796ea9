"""Claim forms. The evidence form of an award claim is generated from the engine's registry
(``marketplace.subsidies.claim_kinds``): one input per evidence field, typed and labelled in
the user's language, plus the year, the files and (for the city) the organisation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.core import labels

REQUIRED = _l("This field is required.")
FILES_HINT = _l("PDF, JPEG or PNG, at most 10 MB each.")


class RespondForm(FlaskForm):
    message = TextAreaField(_l("Your answer to the reviewer"), validators=[Length(max=3000)])
    files = MultipleFileField(_l("Evidence files"), description=FILES_HINT)


def _choice_label(value: str) -> str:
    for group in ("level", "claim_category"):
        text = labels.label(value, group)
        if text != value:
            return text
    return value


def evidence_form(kind: dict, lang: str, on_behalf: bool, default_year: int):
    """A FlaskForm class for one claim kind (a dict of ``claim_kinds()``)."""

    class EvidenceForm(FlaskForm):
        year = IntegerField(_l("Year of the claim"), default=default_year,
                            validators=[DataRequired(REQUIRED), NumberRange(2000, 9999)])

    if on_behalf:
        EvidenceForm.organization = StringField(
            _l("Organisation (unified social credit code)"), validators=[DataRequired(REQUIRED), Length(max=18)],
            description=_l("The city files this claim on the organisation's behalf."))
    names = []
    for f in kind["fields"]:
        label = f["label_zh"] if lang == "zh" else f["label_en"]
        validators = [Optional()]
        if f["name"] == "applicant":
            field = StringField(label, validators=[Optional(), Length(max=100)],
                                description=_l("Leave empty to claim for the organisation itself."))
        elif f["type"] == "bool":
            field = BooleanField(label)
        elif f["type"] == "choice":
            field = SelectField(label, choices=[("", "—")] + [(c, _choice_label(c)) for c in f["choices"]],
                                validators=validators)
        elif f["type"] == "date":
            field = StringField(label, validators=validators, description=_l("Enter a date like 2024-03-01."),
                                render_kw={"type": "date"})
        elif f["type"] == "decimal":
            field = StringField(label, validators=validators, description=_l("In yuan, like 12000 or 12000.50."),
                                render_kw={"inputmode": "decimal"})
        else:
            field = StringField(label, validators=[Optional(), Length(max=200)])
        setattr(EvidenceForm, f["name"], field)
        names.append(f["name"])
    EvidenceForm.files = MultipleFileField(_l("Evidence files"), description=FILES_HINT)
    EvidenceForm.evidence_names = tuple(names)
    EvidenceForm.bool_names = tuple(f["name"] for f in kind["fields"] if f["type"] == "bool")

    def evidence(self) -> dict:
        out = {}
        for name in self.evidence_names:
            value = getattr(self, name).data
            if name in self.bool_names:
                out[name] = bool(value)
            elif isinstance(value, str) and value.strip():
                out[name] = value.strip()
        return out

    EvidenceForm.evidence = evidence
    return EvidenceForm
