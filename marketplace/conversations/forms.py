from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from marketplace.core.forms import YuanField

REQUIRED = _l("This field is required.")


def _date(field):
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_l("Enter a date like 2024-03-01.")) from None


class OfferForm(FlaskForm):
    amount = YuanField(_l("Price (yuan)"), validators=[DataRequired(REQUIRED)])
    delivery_on = StringField(_l("Delivery date"), validators=[Optional()], description=_l("Like 2024-03-01."))
    instalments = IntegerField(_l("Instalments"), default=1, validators=[Optional(), NumberRange(1, 12)])
    valid_until = StringField(_l("Valid until"), validators=[Optional()],
                              description=_l("Empty: 30 days from today."))
    notice_days = IntegerField(_l("Public notice (days)"), validators=[Optional(), NumberRange(1, 60)],
                               description=_l("Universities and public institutes: how long the agreed price "
                                              "stands on public notice (default 15 days)."))
    note = TextAreaField(_l("Terms"), validators=[Length(max=3000)])

    def validate_delivery_on(self, field):
        self.delivery_date = _date(field)

    def validate_valid_until(self, field):
        self.valid_date = _date(field)

    def terms(self) -> dict:
        return {"delivery_on": getattr(self, "delivery_date", None), "instalments": self.instalments.data or 1,
                "valid_until": getattr(self, "valid_date", None), "note": self.note.data or "",
                "notice_days": self.notice_days.data}


class ProposalForm(OfferForm):
    message = TextAreaField(_l("Your proposal"), validators=[DataRequired(REQUIRED), Length(max=3000)])


class AcceptForm(FlaskForm):
    with_voucher = BooleanField(_l("Pay with an innovation voucher"))


class DeclineForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=1000)])


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(REQUIRED), Length(max=5000)])
    files = MultipleFileField(_l("Files (PDF, JPEG, PNG)"))


class PriceObjectionForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with this price"), validators=[DataRequired(REQUIRED),
                                                                           Length(max=3000)])


class DecideObjectionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[("dismiss", _l("Dismiss: the notice goes on")),
                                                   ("uphold", _l("Uphold: withdraw the agreed price"))],
                          validators=[DataRequired(REQUIRED)])
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=2000)])
