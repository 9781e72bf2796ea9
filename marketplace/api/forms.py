from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Token name"), description=_l("What the token is for, e.g. \"ERP sync\"."),
                       validators=[DataRequired(_l("This field is required.")), Length(max=60)])
