"""Forms of the programme pages. They parse what a person typed; the services decide."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.accounts.services import COUNTIES
from marketplace.programmes import common
from marketplace.programmes.models import (
    BASE_KINDS,
    COMMISSIONER_KINDS,
    IP_RIGHT_KINDS,
    IP_STATUSES,
    LEVELS,
    POOL_DECISIONS,
    SELECTION_CATEGORIES,
)

REQUIRED = _l("This field is required.")


def _choices(values, group):
    from marketplace.core import labels

    return [(v, labels.label(v, group)) for v in values]


def _industry_choices(blank=False):
    items = [(k, common.industry_label(k)) for k in common.industries()]
    return ([("", "—")] if blank else []) + items


class HteFiguresForm(FlaskForm):
    fiscal_year = IntegerField(_l("Year of the figures (the last fiscal year)"), validators=[Optional()])
    revenue_last_year = StringField(_l("Revenue of the last year (yuan)"), validators=[DataRequired(REQUIRED)])
    revenue_3y = StringField(_l("Revenue of the last three years, in total (yuan)"), validators=[DataRequired(REQUIRED)])
    rd_3y = StringField(_l("R&D spending of the last three years, in total (yuan)"), validators=[DataRequired(REQUIRED)])
    rd_3y_in_china = StringField(_l("of which spent in China (yuan)"), validators=[DataRequired(REQUIRED)])
    high_tech_revenue = StringField(_l("High-tech product and service revenue of the last year (yuan)"),
                                    validators=[DataRequired(REQUIRED)])
    staff = StringField(_l("Staff"), validators=[DataRequired(REQUIRED)])
    st_staff = StringField(_l("S&T staff"), validators=[DataRequired(REQUIRED)])
    core_ip_count = StringField(_l("Core IP held (items)"), validators=[DataRequired(REQUIRED)])
    founded_on = StringField(_l("Founded on (YYYY-MM-DD)"), validators=[DataRequired(REQUIRED)])

    def data_for_service(self) -> dict:
        names = ("revenue_last_year", "revenue_3y", "rd_3y", "rd_3y_in_china", "high_tech_revenue", "staff",
                 "st_staff", "core_ip_count", "founded_on")
        data = {n: (getattr(self, n).data or "").strip() for n in names}
        data["fiscal_year"] = self.fiscal_year.data
        return data


class PoolDecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=1000)])
    certificate_no = StringField(_l("High-tech enterprise certificate number (when recognised)"),
                                 validators=[Length(max=40)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = _choices(POOL_DECISIONS, "pool_decision")


class IpForm(FlaskForm):
    organization_id = SelectField(_l("Holder"), coerce=int, choices=[])
    kind = SelectField(_l("Kind"), choices=[])
    number = StringField(_l("Patent or registration number"), validators=[DataRequired(REQUIRED), Length(max=40)])
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    industry = SelectField(_l("Industry"), choices=[])
    granted_on = StringField(_l("Granted on (YYYY-MM-DD)"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=[])
    listing_id = SelectField(_l("Achievement on the market"), choices=[], validate_choice=False)

    def __init__(self, *args, holders=(), achievements=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id.choices = [(o.id, o.name) for o in holders]
        self.kind.choices = _choices(IP_RIGHT_KINDS, "ip_right_kind")
        self.industry.choices = _industry_choices()
        self.status.choices = _choices(IP_STATUSES, "ip_status")
        self.listing_id.choices = [("", "—")] + [(str(a.id), f"{a.ref} {a.title}") for a in achievements]

    def data_for_service(self) -> dict:
        return {"kind": self.kind.data, "number": self.number.data, "title": self.title.data,
                "industry": self.industry.data, "granted_on": self.granted_on.data or None,
                "status": self.status.data,
                "listing_id": int(self.listing_id.data) if (self.listing_id.data or "").isdigit() else None}


class LinkForm(FlaskForm):
    listing_id = IntegerField(_l("Achievement"), validators=[DataRequired(REQUIRED)])


class ProfileForm(FlaskForm):
    above_scale_industrial = BooleanField(_l("Above-scale industrial enterprise"))
    industry = SelectField(_l("Industry"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industry.choices = _industry_choices(blank=True)


def _county_choices():
    return [("", "—")] + [(c, c) for c in COUNTIES]


class CommissionerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[])
    organization_id = SelectField(_l("Sending organisation"), choices=[], validate_choice=False)
    specialty = StringField(_l("Specialty"), validators=[Length(max=200)])
    county = SelectField(_l("County or district"), choices=_county_choices(), validate_choice=False)

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(COMMISSIONER_KINDS, "commissioner_kind")
        self.organization_id.choices = [("", "—")] + [(str(o.id), o.name) for o in organizations]


class BaseForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[])
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    organization_id = SelectField(_l("Run by"), choices=[], validate_choice=False)
    commissioner_id = SelectField(_l("Founded or led by commissioner"), choices=[], validate_choice=False)
    county = SelectField(_l("County or district"), choices=_county_choices(), validate_choice=False)
    level = SelectField(_l("Level"), choices=[])
    provincially_filed = BooleanField(_l("Filed at provincial level"))

    def __init__(self, *args, organizations=(), commissioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(BASE_KINDS, "base_kind")
        self.level.choices = _choices(LEVELS, "level")
        self.organization_id.choices = [("", "—")] + [(str(o.id), o.name) for o in organizations]
        self.commissioner_id.choices = [("", "—")] + [(str(c.id), c.name) for c in commissioners]


class CommissionerProjectForm(FlaskForm):
    commissioner_id = SelectField(_l("Commissioner"), choices=[], validate_choice=False)
    organization_id = SelectField(_l("Enterprise"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    year = IntegerField(_l("Year"), validators=[DataRequired(REQUIRED), NumberRange(2000, 2100)])
    provincial_support = StringField(_l("Provincial support (yuan)"))

    def __init__(self, *args, organizations=(), commissioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id.choices = [("", "—")] + [(str(o.id), o.name) for o in organizations]
        self.commissioner_id.choices = [("", "—")] + [(str(c.id), c.name) for c in commissioners]


class SelectionForm(FlaskForm):
    year = IntegerField(_l("Year of the selection"), validators=[DataRequired(REQUIRED), NumberRange(2000, 2100)])
    category = SelectField(_l("Award"), choices=[])
    subject_id = StringField(_l("Selected (number in the registry)"), validators=[DataRequired(REQUIRED)])
    selected_on = StringField(_l("Selected on (YYYY-MM-DD)"), validators=[DataRequired(REQUIRED)])
    provincial_post_subsidy = StringField(_l("Provincial post-subsidy received (yuan, enterprise commissioners)"))
    provincial_support = StringField(_l("Provincial support of the project (yuan, commissioner projects)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _choices(tuple(SELECTION_CATEGORIES), "selection_category")


class ProjectForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    county = SelectField(_l("County or district"), choices=[(c, c) for c in COUNTIES])
    industry = SelectField(_l("Industry"), choices=[])
    bottleneck = TextAreaField(_l("Key technology bottleneck to break through"),
                               validators=[DataRequired(REQUIRED), Length(max=5000)])
    requested_city = StringField(_l("City support requested (yuan)"), validators=[DataRequired(REQUIRED)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industry.choices = _industry_choices()


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[])
    note = TextAreaField(_l("Reviewers' note"), validators=[DataRequired(REQUIRED), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = _choices(("reserve", "reject"), "project_decision")


class FundForm(FlaskForm):
    city_share = StringField(_l("City share (yuan)"), validators=[DataRequired(REQUIRED)])
    county_share = StringField(_l("County share (yuan)"))
    funded_on = StringField(_l("Funded on (YYYY-MM-DD)"))


class CompleteForm(FlaskForm):
    breakthrough = BooleanField(_l("The key technology was broken through"))
    completed_on = StringField(_l("Completed on (YYYY-MM-DD)"))
