from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from marketplace.accounts.services import COUNTIES
from marketplace.core.forms import YuanField, choices
from marketplace.listings.models import FIELDS, IP_KINDS, MATURITIES, PRICE_UNITS, TRANSFER_MODES
from marketplace.listings.schema import max_length  # the bounds the API and its document state too

REQUIRED = _l("This field is required.")


class ListingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=max_length("title"))])
    description = TextAreaField(_l("Description"), validators=[Length(max=max_length("description"))])
    field = SelectField(_l("Field"), choices=[("", "—")] + choices(FIELDS, "listing_field"), validators=[Optional()])
    county = SelectField(_l("County or district"), choices=[("", "—")] + [(c, c) for c in COUNTIES],
                         validators=[Optional()])
    price = YuanField(_l("Price (yuan)"))
    negotiable = BooleanField(_l("Price negotiable"))

    def data_for_service(self) -> dict:
        return {"title": self.title.data, "description": self.description.data or "",
                "field": self.field.data or None, "county": self.county.data or None,
                "price_fen": self.price.fen, "negotiable": self.negotiable.data}


class AchievementForm(ListingForm):
    ip_kind = SelectField(_l("Kind of achievement"), choices=choices(IP_KINDS, "ip_kind"))
    ip_number = StringField(_l("Patent or registration number"), validators=[Length(max=max_length("ip_number"))])
    maturity = SelectField(_l("Maturity"), choices=choices(MATURITIES, "maturity"))
    transfer_modes = SelectMultipleField(_l("Ways to transfer"), choices=choices(TRANSFER_MODES, "transfer_mode"))

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        data.update(ip_kind=self.ip_kind.data, ip_number=self.ip_number.data or None,
                    maturity=self.maturity.data, transfer_modes=self.transfer_modes.data)
        return data


class InstrumentForm(ListingForm):
    category = StringField(_l("Category"), validators=[Length(max=max_length("category"))])
    model = StringField(_l("Model"), validators=[Length(max=max_length("model"))])
    location = StringField(_l("Location"), validators=[Length(max=max_length("location"))])
    price_unit = SelectField(_l("Charged per"), choices=choices(PRICE_UNITS, "price_unit"))
    internal_price = YuanField(_l("Internal price (yuan)"))
    financing_lease = BooleanField(_l("Financially leased"))
    on_sharing_platform = BooleanField(_l("Listed on the city's sharing platform"))
    open_from_hour = IntegerField(_l("Open from (hour)"), default=8, validators=[Optional(), NumberRange(0, 23)])
    open_to_hour = IntegerField(_l("Open until (hour)"), default=18, validators=[Optional(), NumberRange(1, 24)])

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        data.update(category=self.category.data, model=self.model.data, location=self.location.data,
                    price_unit=self.price_unit.data, internal_price_fen=self.internal_price.fen,
                    financing_lease=self.financing_lease.data, on_sharing_platform=self.on_sharing_platform.data,
                    open_from_hour=self.open_from_hour.data, open_to_hour=self.open_to_hour.data)
        return data


FORMS = {"achievement": AchievementForm, "instrument": InstrumentForm, "service": ListingForm, "demand": ListingForm}


class LeaseForm(FlaskForm):
    amount = YuanField(_l("Lease fee (yuan)"), validators=[DataRequired(REQUIRED)])
    paid_on = StringField(_l("Paid on"), validators=[DataRequired(REQUIRED)])

    def validate_paid_on(self, field):
        from datetime import date

        try:
            self.paid_on_date = date.fromisoformat(field.data.strip())
        except ValueError:
            raise ValidationError(_l("Enter a date like 2024-03-01."))


class ModerateForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("reject", _l("Reject")), ("approve", _l("Approve and publish")),
                                                    ("restore", _l("Restore"))])
    note = StringField(_l("Reason"), validators=[Length(max=300)])


class AttachForm(FlaskForm):
    """Files for a listing: PDF, JPEG or PNG (the service checks the contents and says which
    file is refused and why, beside this field)."""
    files = MultipleFileField(_l("PDF, JPEG or PNG, at most 10 MB each"))

    def uploads(self):
        return [(f.filename, f.read()) for f in self.files.data or [] if f and getattr(f, "filename", None)]
