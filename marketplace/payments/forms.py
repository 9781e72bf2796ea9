"""Forms of the payment pages: the confirmation step, receipts of bank transfers, statements."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from marketplace.core.forms import YuanField

REQUIRED = _l("This field is required.")


class PayForm(FlaskForm):
    """The confirmation step's button: how to pay, and the amount the page showed."""

    method = RadioField(_l("Payment method"), choices=[("card", _l("Bank card (online)")),
                                                       ("bank", _l("Bank transfer (对公转账)"))], default="card")
    expected_fen = IntegerField(validators=[Optional(), NumberRange(min=1)])


class ConfirmReceiptForm(FlaskForm):
    amount = YuanField(_l("Amount that arrived (yuan)"), validators=[DataRequired(REQUIRED)])
    value_date = StringField(_l("Arrived on"), description=_l("As on the bank statement, like 2025-03-18. "
                                                               "Empty: today."))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    seen_fen = HiddenField()

    def validate_value_date(self, field):
        self.day = None
        if (field.data or "").strip():
            try:
                self.day = date.fromisoformat(field.data.strip())
            except ValueError:
                raise ValidationError(_l("Enter a date like 2024-03-01."))

    def seen(self) -> int:
        try:
            return max(0, int(self.seen_fen.data or 0))
        except ValueError:
            return 0


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (CSV)"),
                          description=_l("Columns: date, payer account name, amount, reference (or 交易日期, "
                                         "对方户名, 金额, 摘要 / 附言), UTF-8 or GBK."))


class MatchForm(FlaskForm):
    reference = StringField(_l("Reference of the payment"), validators=[DataRequired(REQUIRED), Length(max=40)])


class ResolveForm(FlaskForm):
    resolution = SelectField(_l("What happened"), choices=[("returned", _l("Sent back to the payer")),
                                                           ("duplicate", _l("Already recorded by hand"))])
    note = TextAreaField(_l("What was done"), validators=[DataRequired(REQUIRED), Length(max=300)])
