from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from marketplace.core.forms import YuanField
from marketplace.core.labels import choices
from marketplace.instruments import labels  # noqa: F401 - registers the label groups used below

REQUIRED = _l("This field is required.")
DAY_HINT = _l("Enter a date like 2024-03-01.")


def _day(field) -> date:
    try:
        return date.fromisoformat((field.data or "").strip())
    except ValueError:
        raise ValidationError(DAY_HINT)


def _moment(field) -> datetime:
    text = (field.data or "").strip().replace("T", " ")
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValidationError(_l("Enter a time like 2024-03-01 09:30."))


class BookForm(FlaskForm):
    day = StringField(_l("Day"), validators=[DataRequired(REQUIRED)])
    hour = IntegerField(_l("Start hour"), validators=[DataRequired(REQUIRED), NumberRange(0, 23)])
    hours = IntegerField(_l("Hours"), default=1, validators=[DataRequired(REQUIRED), NumberRange(1, 168)])
    repeat_weeks = IntegerField(_l("Weeks in a row"), default=1, validators=[Optional(), NumberRange(1, 8)],
                                description=_l("Book the same hours on several weeks (recurring)."))
    with_voucher = BooleanField(_l("Pay with an innovation voucher"))

    def validate_day(self, field):
        self.day_date = _day(field)

    def start_at(self) -> datetime:
        return datetime.combine(self.day_date, datetime.min.time()).replace(hour=self.hour.data)


class TrainingForm(FlaskForm):
    day = StringField(_l("Day"), validators=[DataRequired(REQUIRED)])
    hour = IntegerField(_l("Start hour"), validators=[DataRequired(REQUIRED), NumberRange(0, 23)])

    def validate_day(self, field):
        self.day_date = _day(field)

    def start_at(self) -> datetime:
        return datetime.combine(self.day_date, datetime.min.time()).replace(hour=self.hour.data)


class SamplesForm(FlaskForm):
    samples = IntegerField(_l("Number of samples"), validators=[DataRequired(REQUIRED), NumberRange(1, 10000)])
    description = TextAreaField(_l("Samples and tests needed"), validators=[DataRequired(REQUIRED),
                                                                           Length(max=3000)])
    with_voucher = BooleanField(_l("Pay with an innovation voucher"))


class WaitlistForm(FlaskForm):
    day = StringField(_l("Day"), validators=[DataRequired(REQUIRED)])
    hours = IntegerField(_l("Hours"), default=1, validators=[DataRequired(REQUIRED), NumberRange(1, 168)])

    def validate_day(self, field):
        self.day_date = _day(field)


class DecideForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("approve", _l("Approve")), ("refuse", _l("Refuse"))])
    reason = StringField(_l("Reason (when refusing)"), validators=[Length(max=300)])


class UseForm(FlaskForm):
    used_start = StringField(_l("Used from"), validators=[DataRequired(REQUIRED)])
    used_end = StringField(_l("Used until"), validators=[DataRequired(REQUIRED)])

    def validate_used_start(self, field):
        self.start = _moment(field)

    def validate_used_end(self, field):
        self.end = _moment(field)


class QualifyForm(FlaskForm):
    email = StringField(_l("The user's e-mail"), validators=[DataRequired(REQUIRED), Email(), Length(max=254)])
    until = StringField(_l("Qualified until"), validators=[Optional()],
                        description=_l("Empty: the instrument's qualification period from today."))
    until_date = None  # Optional() skips validate_until when it is empty

    def validate_until(self, field):
        self.until_date = _day(field) if (field.data or "").strip() else None


class OutageForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=lambda: choices("outage_kind"))
    start = StringField(_l("From"), validators=[DataRequired(REQUIRED)])
    end = StringField(_l("Until"), validators=[DataRequired(REQUIRED)])
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=300)])

    def validate_start(self, field):
        self.start_at = _moment(field)

    def validate_end(self, field):
        self.end_at = _moment(field)


class AdvanceSamplesForm(FlaskForm):
    to = SelectField(_l("Next step"), choices=lambda: choices("sample_status", ("received", "testing", "reported")))
    samples_done = IntegerField(_l("Samples done"), validators=[Optional(), NumberRange(0, 10000)])
    report = TextAreaField(_l("Report findings"), validators=[Optional(), Length(max=10000)])


class SettingsForm(FlaskForm):
    self_mode = BooleanField(_l("Self-operation (上机), by the hour"))
    sample_mode = BooleanField(_l("Samples sent in (送样), per sample"))
    sample_price = YuanField(_l("Price per sample (yuan)"), validators=[Optional()])
    sample_days = IntegerField(_l("Days from receipt to report"), default=5, validators=[DataRequired(REQUIRED),
                                                                                         NumberRange(1, 90)])
    requires_training = BooleanField(_l("Self-operation needs training"))
    training_hours = IntegerField(_l("Training session (hours)"), default=2,
                                  validators=[DataRequired(REQUIRED), NumberRange(1, 12)])
    training_price = YuanField(_l("Training fee (yuan)"), validators=[Optional()])
    qualification_months = IntegerField(_l("Qualification lasts (months)"), default=12,
                                        validators=[DataRequired(REQUIRED), NumberRange(1, 60)])
    approval = SelectField(_l("Bookings"), choices=lambda: choices("approval_rule"))
    hold_hours = IntegerField(_l("A request holds its hours for (hours)"), default=48,
                              validators=[DataRequired(REQUIRED), NumberRange(1, 336)])
    weekly_quota_hours = IntegerField(_l("Hours per organisation and week"), validators=[Optional(),
                                                                                        NumberRange(1, 168)],
                                      description=_l("Empty: no quota."))
    overnight = BooleanField(_l("Overnight and multi-day runs allowed"))
    max_hours = IntegerField(_l("Longest booking (hours)"), default=12,
                             validators=[DataRequired(REQUIRED), NumberRange(1, 168)])
    cancel_window_hours = IntegerField(_l("Free cancellation until (hours before the start)"), default=24,
                                       validators=[Optional(), NumberRange(0, 336)])
    late_rule = SelectField(_l("Late cancellation or no-show"), choices=lambda: choices("late_rule"))
    late_fee = YuanField(_l("Fee (yuan)"), validators=[Optional()])
    billing = SelectField(_l("Billed by"), choices=lambda: choices("billing_rule"))
    specifications = TextAreaField(_l("Specifications"), validators=[Length(max=5000)])
    accreditation = StringField(_l("Accreditation (CMA / CNAS)"), validators=[Length(max=120)])
    latitude = StringField(_l("Latitude"), validators=[Length(max=12)])
    longitude = StringField(_l("Longitude"), validators=[Length(max=12)])

    def values(self) -> dict:
        return {
            "self_mode": self.self_mode.data, "sample_mode": self.sample_mode.data,
            "sample_price_fen": self.sample_price.fen if self.sample_price.data else None,
            "sample_days": self.sample_days.data, "requires_training": self.requires_training.data,
            "training_hours": self.training_hours.data,
            "training_price_fen": self.training_price.fen if self.training_price.data else 0,
            "qualification_months": self.qualification_months.data, "approval": self.approval.data,
            "hold_hours": self.hold_hours.data, "weekly_quota_hours": self.weekly_quota_hours.data,
            "overnight": self.overnight.data, "max_hours": self.max_hours.data,
            "cancel_window_hours": self.cancel_window_hours.data or 0, "late_rule": self.late_rule.data,
            "late_fee_fen": self.late_fee.fen if self.late_fee.data else 0, "billing": self.billing.data,
            "specifications": self.specifications.data or "", "accreditation": self.accreditation.data or None,
            "latitude": (self.latitude.data or "").strip() or None,
            "longitude": (self.longitude.data or "").strip() or None,
        }

    def fill(self, settings) -> None:
        for name in ("self_mode", "sample_mode", "sample_days", "requires_training", "training_hours",
                     "qualification_months", "approval", "hold_hours", "weekly_quota_hours", "overnight", "max_hours",
                     "cancel_window_hours", "late_rule", "billing", "specifications", "accreditation", "latitude",
                     "longitude"):
            getattr(self, name).data = getattr(settings, name)
        for name, fen in (("sample_price", settings.sample_price_fen), ("training_price", settings.training_price_fen),
                          ("late_fee", settings.late_fee_fen)):
            getattr(self, name).data = f"{fen / 100:.2f}" if fen else ""
