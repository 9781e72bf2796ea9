from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from marketplace.core.forms import YuanField

REQUIRED = _l("This field is required.")


def _label_choices(group, values=None):
    from marketplace.core.labels import GROUPS, label
    from marketplace.vouchers import labels  # noqa: F401 (the groups)

    return [(v, label(v, group)) for v in (values or GROUPS[group])]


class ApplyForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[DataRequired(REQUIRED), NumberRange(2000, 2100)])
    planned = YuanField(_l("Planned amount (yuan)"), validators=[DataRequired(REQUIRED)])
    purpose = TextAreaField(_l("What the voucher is for"), validators=[DataRequired(REQUIRED), Length(max=3000)])
    mode = SelectField(_l("Redemption mode"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode.choices = _label_choices("voucher_mode")


class ResubmitForm(FlaskForm):
    purpose = TextAreaField(_l("What the voucher is for"), validators=[DataRequired(REQUIRED), Length(max=3000)])


class DecideForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("approve", _l("Approve")), ("material", _l("Ask for material")),
                                                   ("reject", _l("Reject"))])
    amount = YuanField(_l("Approved amount (yuan)"), validators=[Optional()])
    note = TextAreaField(_l("Reason or request"), validators=[Length(max=3000)])


class AdmissionForm(FlaskForm):
    scope = TextAreaField(_l("Scope of services"), validators=[DataRequired(REQUIRED), Length(max=3000)])
    qualifications = SelectMultipleField(_l("Qualifications"), choices=[("CMA", "CMA"), ("CNAS", "CNAS"),
                                                                         ("CATL", "CATL"), ("other", _l("Other"))])


class AdmissionDecideForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("admit", _l("Admit")), ("reject", _l("Reject")),
                                                   ("suspend", _l("Suspend")), ("remove", _l("Remove"))])
    note = TextAreaField(_l("Reason"), validators=[Length(max=3000)])


class DeliverForm(FlaskForm):
    note = TextAreaField(_l("Delivery note"), validators=[Length(max=3000)])
    files = MultipleFileField(_l("Service or test report (PDF, JPEG or PNG)"))


class DisputeForm(FlaskForm):
    reason = TextAreaField(_l("Why you dispute the delivery"), validators=[DataRequired(REQUIRED), Length(max=3000)])


class RateForm(FlaskForm):
    rating = SelectField(_l("Rating"), choices=[("5", "5"), ("4", "4"), ("3", "3"), ("2", "2"), ("1", "1")])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])


class SettingForm(FlaskForm):
    key = SelectField(_l("Setting"), choices=[])
    value = StringField(_l("Value (empty: no cap)"), validators=[Length(max=20)])
    effective_from = StringField(_l("In force from"), validators=[DataRequired(REQUIRED)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key.choices = _label_choices("voucher_setting")

    def validate_effective_from(self, field):
        try:
            self.effective_date = date.fromisoformat(field.data.strip())
        except ValueError:
            raise ValidationError(_l("Enter a date like 2024-03-01."))
