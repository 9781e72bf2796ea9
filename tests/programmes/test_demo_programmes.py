"""The demo city includes the programmes, Chinese first and English on switch."""
import pytest
from sqlalchemy import select

from marketplace.demo import loader
from marketplace.extensions import db
from marketplace.programmes.models import IpRight, MajorProject, PoolEntry, Selection
from tests.programmes.helpers import count

PAGES = ("/programmes/", "/programmes/pool", "/programmes/ip", "/programmes/ip/zero-patent",
         "/programmes/commissioners", "/programmes/projects", "/programmes/targets", "/account/data")


def test_demo_loads_the_programmes_once(app_ctx):
    loader.load_all()
    first = (count(PoolEntry), count(IpRight), count(Selection), count(MajorProject))
    loader.load_all()
    assert (count(PoolEntry), count(IpRight), count(Selection), count(MajorProject)) == first
    assert all(first)
    kinds = {s.claim_kind: s.amount_fen for s in db.session.scalars(select(Selection))}
    assert kinds["B6.base"] == 10_000_000 and kinds["B6.excellent"] == 2_000_000 and kinds["B6.star"] == 20_000_000
    assert db.session.scalar(select(IpRight).where(IpRight.number == "ZL201910123456.7")).listing_id is not None


@pytest.mark.parametrize("lang, words", [("zh", "科技特派员"), ("en", "Science and technology commissioners")])
def test_demo_reviewer_reaches_every_programme_page(client, lang, words):
    context = loader.load_all()
    client.post(f"/lang/{lang}")
    client.post("/login", data={"email": "reviewer@kjj.liaocheng.demo", "password": context["password"]})
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
    assert words in client.get("/programmes/commissioners").get_data(as_text=True)
