"""The Liaocheng innovation marketplace.

``create_app`` is imported lazily so that pure sub-packages (``marketplace.subsidies``)
can be used without importing Flask or SQLAlchemy.
"""


def create_app(config=None):
    from marketplace.app import create_app as _create_app

    return _create_app(config)
