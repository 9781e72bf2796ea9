import pytest

from marketplace.extensions import db
from tests.ledger.helpers import purge_ledger


@pytest.fixture()
def ledger(app_ctx):
    """An app context whose ledger is emptied afterwards (the table refuses a plain DELETE)."""
    yield app_ctx
    db.session.rollback()
    db.session.remove()
    purge_ledger()


@pytest.fixture()
def dialect(app):
    from sqlalchemy.engine import make_url

    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
