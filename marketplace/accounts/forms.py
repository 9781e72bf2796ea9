from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from marketplace import permissions as perm
from marketplace.accounts import credit_code
from marketplace.accounts.models import AGENCY_LEVELS, COUNTIES, HOST_LEVELS, ORG_KINDS, SIZES
from marketplace.core import labels

REQUIRED = _l("This field is required.")


def _blank(choices):
    return [("", "—")] + list(choices)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(REQUIRED), Email(_l("Enter a valid e-mail address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])
    remember = BooleanField(_l("Stay logged in"))


class PasswordFields:
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(min=10, message=_l("At least 10 characters."))])
    confirm = PasswordField(_l("Repeat password"), validators=[DataRequired(REQUIRED), EqualTo("password", _l("The passwords differ."))])


class RegistrationForm(FlaskForm):
    org_name = StringField(_l("Organisation name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Kind of organisation"),
                       choices=_blank(labels.choices("kind", [k for k in ORG_KINDS if k != "government"])),
                       validators=[DataRequired(REQUIRED)])
    role = SelectField(_l("Takes part as"), choices=_blank(labels.choices("role", perm.MARKET_ROLES)),
                       validators=[DataRequired(REQUIRED)])
    credit_code = StringField(_l("Unified social credit code"), validators=[DataRequired(REQUIRED)],
                              description=_l("18 characters, as on the business licence."))
    size = SelectField(_l("Enterprise size"), choices=_blank(labels.choices("size", SIZES)), validators=[Optional()])
    county = SelectField(_l("County or district"), choices=_blank([(c, c) for c in COUNTIES]), validators=[Optional()])
    in_city = BooleanField(_l("Registered in Liaocheng"), default=True)
    transfer_agency_level = SelectField(_l("Filed technology-transfer agency level"),
                                        choices=_blank(labels.choices("level", AGENCY_LEVELS)), validators=[Optional()])
    service_agency = BooleanField(_l("Registered science and technology service agency"))
    host_level = SelectField(_l("Level of the host incubator (maker teams)"),
                             choices=_blank(labels.choices("level", HOST_LEVELS)), validators=[Optional()])
    name = StringField(_l("Your name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(REQUIRED), Email(_l("Enter a valid e-mail address."))])

    def validate_credit_code(self, field):
        try:
            field.data = credit_code.normalise(field.data)
        except credit_code.CreditCodeError:
            raise ValidationError(_l("This is not a valid unified social credit code (18 characters, check character last)."))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(REQUIRED), Email(_l("Enter a valid e-mail address."))])


class ResetPasswordForm(PasswordFields, FlaskForm):
    pass


class ConfirmRegistrationForm(PasswordFields, FlaskForm):
    pass


class ChangePasswordForm(PasswordFields, FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(REQUIRED), Email(_l("Enter a valid e-mail address."))])
    role = SelectField(_l("Role"), choices=labels.choices("role", perm.ROLES), validators=[DataRequired(REQUIRED)])
    # Administrators only: the (government) organisation to invite into; the choices are set by the view.
    organization = SelectField(_l("Organisation"), choices=[], coerce=int, validate_choice=False,
                               validators=[Optional()])


class AcceptInvitationForm(PasswordFields, FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(REQUIRED), Length(max=100)])


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Token name"), description=_l("What the token is for, e.g. \"ERP sync\"."),
                       validators=[DataRequired(REQUIRED), Length(max=60)])


class CloseAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED)])
    confirm = BooleanField(_l("I understand that my account is closed for good."),
                           validators=[DataRequired(_l("Tick the box to confirm."))])
