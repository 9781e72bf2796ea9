from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class NewDraftForm(FlaskForm):
    name = StringField(_l("Name of the draft"), validators=[DataRequired(), Length(max=120)],
                       description=_l("For example: A3 city share 20 %"))


class EditValueForm(FlaskForm):
    parameter = SelectField(_l("Parameter"), choices=[], validate_choice=True)
    value = StringField(_l("New value"), validators=[DataRequired(), Length(max=40)],
                        description=_l("A rate as 0.2 or 20 %, an amount in yuan as 300000."))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class PublishForm(FlaskForm):
    effective_from = DateField(_l("In force from"), validators=[DataRequired()],
                               description=_l("1 January of a coming year."))
    document_no = StringField(_l("Decision document number (文号)"), validators=[DataRequired(), Length(max=80)])
