from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from marketplace.core.forms import YuanField, choices
from marketplace.listings.models import TRANSFER_MODES
from marketplace.orders.models import CONTRACT_TYPES

REQUIRED = _l("This field is required.")


class EnquiryForm(FlaskForm):
    message = TextAreaField(_l("Your question"), validators=[DataRequired(REQUIRED), Length(max=3000)])
    transfer_mode = SelectField(_l("Way to transfer"), choices=[("", "—")] + choices(TRANSFER_MODES, "transfer_mode"),
                                validators=[Optional()])


class QuoteForm(FlaskForm):
    amount = YuanField(_l("Quoted price (yuan)"), validators=[DataRequired(REQUIRED)])
    note = TextAreaField(_l("Terms"), validators=[Length(max=3000)])


class PayOptionsForm(FlaskForm):
    with_voucher = BooleanField(_l("Pay with an innovation voucher"))
    voucher_id = IntegerField(_l("Voucher"), validators=[Optional()])  # none: the one that runs out first


class BuyAchievementForm(FlaskForm):
    transfer_mode = SelectField(_l("Way to transfer"), choices=choices(TRANSFER_MODES, "transfer_mode"))


class BookingForm(FlaskForm):
    day = StringField(_l("Day"), validators=[DataRequired(REQUIRED)])
    hour = IntegerField(_l("Start hour"), validators=[DataRequired(REQUIRED), NumberRange(0, 23)])
    hours = IntegerField(_l("Hours"), default=1, validators=[DataRequired(REQUIRED), NumberRange(1, 12)])
    samples = IntegerField(_l("Samples"), validators=[Optional(), NumberRange(1, 10000)])
    with_voucher = BooleanField(_l("Pay with an innovation voucher"))

    def validate_day(self, field):
        try:
            self.day_date = date.fromisoformat(field.data.strip())
        except ValueError:
            raise ValidationError(_l("Enter a date like 2024-03-01."))

    def start_at(self) -> datetime:
        return datetime.combine(self.day_date, datetime.min.time()).replace(hour=self.hour.data)


class RegisterContractForm(FlaskForm):
    registration_no = StringField(_l("Registration number (认定登记编号)"), validators=[DataRequired(REQUIRED), Length(max=40)])
    registered_on = StringField(_l("Registered on"), validators=[DataRequired(REQUIRED)])
    contract_type = SelectField(_l("Contract type"), choices=choices(CONTRACT_TYPES, "contract_type"))

    def validate_registered_on(self, field):
        try:
            self.registered_date = date.fromisoformat(field.data.strip())
        except ValueError:
            raise ValidationError(_l("Enter a date like 2024-03-01."))


class RefundForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=300)])
