from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from marketplace.core.forms import YuanField
from marketplace.dashboards.models import INDICATOR_COUNTIES
from marketplace.dashboards.services import MAX_YEAR, MIN_YEAR

REQUIRED = _l("This field is required.")


class CountyRDForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(REQUIRED), NumberRange(MIN_YEAR, MAX_YEAR)])
    county = SelectField(_l("County, district or county-level city"), choices=[(c, c) for c in INDICATOR_COUNTIES])
    rd_spending = YuanField(_l("R&D spending (yuan)"), validators=[DataRequired(REQUIRED)],
                            description=_l("全社会研发经费支出, in yuan: 1600000000 for 16 亿元."))
    gdp = YuanField(_l("GDP (yuan)"), validators=[DataRequired(REQUIRED)],
                    description=_l("地区生产总值, in yuan: 64000000000 for 640 亿元."))
