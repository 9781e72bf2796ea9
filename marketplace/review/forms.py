from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.core.forms import YuanField

REQUIRED = _l("This field is required.")


class ApproveForm(FlaskForm):
    good_service_results = BooleanField(_l("The service results are good (服务成效良好)"),
                                        description=_l("Required to approve an A5 claim."))
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the rejection"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class EvidenceRequestForm(FlaskForm):
    message = TextAreaField(_l("What the applicant should provide"),
                            validators=[DataRequired(REQUIRED), Length(max=2000)])


class ObjectionForm(FlaskForm):
    # Name and e-mail are asked of anonymous objectors only (a logged-in user's are known): the
    # service checks them.
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=100)])
    contact = StringField(_l("E-mail"), validators=[Optional(), Length(max=200)], render_kw={"type": "email"},
                          description=_l("We send a link there: the objection counts once you confirm it."))
    reason = TextAreaField(_l("What is wrong with this claim"), validators=[DataRequired(REQUIRED), Length(max=3000)])


class ConfirmObjectionForm(FlaskForm):
    pass


class ObjectionDecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("suspend", _l("Suspend the notice: review the claim again")),
                                                    ("dismiss", _l("Dismiss: the notice goes on"))],
                           validators=[DataRequired(REQUIRED)])
    reason = TextAreaField(_l("Reason for the decision"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class PayForm(FlaskForm):
    paid_on = StringField(_l("Paid on"), validators=[Optional()], render_kw={"type": "date"},
                          description=_l("Empty: today."))


class BudgetForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[DataRequired(REQUIRED), NumberRange(2000, 9999)])
    clause = SelectField(_l("Clause"), validators=[DataRequired(REQUIRED)])
    amount = YuanField(_l("Budget (yuan)"), validators=[DataRequired(REQUIRED)])


class ProvincialRewardForm(FlaskForm):
    organization = SelectField(_l("Service agency"), coerce=int, validators=[DataRequired(REQUIRED)])
    year = IntegerField(_l("Year"), validators=[DataRequired(REQUIRED), NumberRange(2000, 9999)])
    amount = YuanField(_l("Provincial service-performance reward (yuan)"), validators=[DataRequired(REQUIRED)])
