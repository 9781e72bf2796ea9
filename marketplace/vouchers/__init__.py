"""Innovation vouchers (创新券) as the province and the city run them: applications (申领),
vouchers with a balance, provider admission (入库), reservation at order time, delivery and
acceptance (验收), redemption (兑现) in batches per provider and month, ratings."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.vouchers import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    views.init_app(app)  # the order and listing panels, the timed jobs, the home actions
