"""Uploads through the storage interface (marketplace.core.storage): the folder by default and
an S3-compatible object store for several web nodes, the latter against a real SeaweedFS
server (scripts/components/seaweedfs.sh); and what else a node must not keep to itself."""
from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import select

import config as config_module
from marketplace.core.storage import LocalStorage, S3Storage
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import ListingAttachment
from tests.factories import login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture()
def s3_settings(s3_server):
    return {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_server["endpoint_url"],
            "S3_ACCESS_KEY_ID": s3_server["access_key_id"], "S3_SECRET_ACCESS_KEY": s3_server["secret_access_key"],
            # one bucket (a SeaweedFS collection of its own: they are few), a fresh prefix per test
            "S3_BUCKET": "marketplace-tests", "S3_REGION": "us-east-1", "S3_PREFIX": f"t-{uuid.uuid4().hex[:12]}/"}


def _s3(settings) -> S3Storage:
    return S3Storage(settings["S3_ENDPOINT_URL"], settings["S3_BUCKET"], settings["S3_ACCESS_KEY_ID"],
                     settings["S3_SECRET_ACCESS_KEY"], settings["S3_REGION"], settings["S3_PREFIX"])


def _contract(store) -> None:
    key = f"claims/{uuid.uuid4().hex}"
    assert not store.exists(key)
    with pytest.raises(FileNotFoundError):
        store.open(key)
    store.put(key, PDF, "application/pdf")
    assert store.exists(key)
    with store.open(key) as fh:
        assert fh.read() == PDF
    store.put("listings/" + key.split("/")[1], PNG, "image/png")
    assert sorted(store.keys("claims/")) == [key]
    assert len(list(store.keys())) == 2
    store.delete(key)
    store.delete(key)  # twice: no error
    assert not store.exists(key)
    for bad in ("../etc/passwd", "claims/../x", "claims", "a/b/c", "claims/"):
        with pytest.raises(ValueError):
            store.put(bad, b"x", "text/plain")


def test_local_storage_keeps_the_contract(tmp_path):
    _contract(LocalStorage(tmp_path / "uploads"))


def test_s3_storage_keeps_the_contract_on_a_real_server(s3_settings):
    _contract(_s3(s3_settings))


def test_s3_storage_refuses_a_wrong_secret(s3_settings):
    from botocore.exceptions import ClientError

    bad = _s3({**s3_settings, "S3_SECRET_ACCESS_KEY": "not-the-secret"})
    with pytest.raises(ClientError):
        bad.put("claims/" + uuid.uuid4().hex, PDF, "application/pdf")


@pytest.fixture()
def s3_app(app, s3_settings):
    """The test app with its uploads in the object store for one test."""
    previous = {k: app.config.get(k) for k in s3_settings}
    app.config.update(s3_settings)
    yield app
    app.config.update(previous)


def _patent(user):
    listing = listings.create_listing(user, "achievement", {
        "title": "一种轴承钢热处理方法", "price_fen": 100, "ip_kind": "invention_patent",
        "transfer_modes": ["assignment"]})
    return listings.publish(user, listing.id)


def test_attachments_go_to_the_object_store_and_come_back_from_it(client, factory, s3_app, s3_settings, tmp_path):
    s3_app.config["UPLOAD_DIR"] = str(tmp_path / "never-used")
    university = factory.user("university", kind="university")
    patent = _patent(university)
    login(client, university)
    data = {"files": [(io.BytesIO(PDF), "专利证书.pdf")]}
    assert client.post(f"/listings/{patent.id}/attachments", data=data,
                       content_type="multipart/form-data").status_code == 302
    attachment = db.session.scalars(select(ListingAttachment)).one()
    store = _s3(s3_settings)
    assert list(store.keys()) == [f"listings/{attachment.stored_name}"]
    assert not (tmp_path / "never-used").exists()  # nothing on the node's disk
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == PDF
    assert client.post(f"/attachments/{attachment.id}/delete").status_code == 302
    assert list(store.keys()) == []


def test_a_failed_transaction_leaves_no_object_behind(client, factory, s3_app, s3_settings, monkeypatch):
    university = factory.user("university", kind="university")
    patent = _patent(university)

    def broken_row(*_args, **_kwargs):
        raise RuntimeError("the database refused the row")

    monkeypatch.setattr(listings, "ListingAttachment", broken_row)
    with pytest.raises(RuntimeError):
        listings.attach_files(university, patent.id, [("a.pdf", PDF)])
    assert list(_s3(s3_settings).keys()) == []


def test_several_web_nodes_refuse_the_embedded_search_index():
    env = {"WEB_NODES": "2", "SEARCH_BACKEND": "embedded"}
    with pytest.raises(config_module.ConfigurationError, match="WEB_NODES.*SEARCH_BACKEND=elasticsearch"):
        config_module.load("test", environ=env)
    settings = config_module.load("test", environ={**env, "SEARCH_BACKEND": "elasticsearch"})
    assert settings["WEB_NODES"] == 2
    assert config_module.load("test", environ={"SEARCH_BACKEND": "embedded"})["WEB_NODES"] == 1
    with pytest.raises(config_module.ConfigurationError, match="WEB_NODES"):
        config_module.load("test", environ={"WEB_NODES": "0"})


def test_a_session_made_on_one_node_is_good_on_another(app, client, factory, database_url, tmp_path):
    """Two app instances (two nodes: own instance folders) sharing the database and the secret:
    the login cookie one issued is honoured by the other, which keeps nothing of it."""
    from marketplace import create_app
    from tests.conftest import IsolatedClient

    user = factory.user("enterprise")
    other = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": database_url,
                        "UPLOAD_DIR": str(tmp_path / "node-b-uploads"),
                        "SEARCH_SQLITE_PATH": str(tmp_path / "node-b-search.sqlite"),
                        "SERVER_NAME": "marketplace.test", "SECRET_KEY": app.config["SECRET_KEY"]})
    login(client, user)  # on node A
    cookie = client.get_cookie("session", domain="marketplace.test")
    assert cookie is not None
    other.test_client_class = IsolatedClient
    with other.app_context():
        node_b = other.test_client()
        node_b.set_cookie("session", cookie.value, domain="marketplace.test")
        response = node_b.get("/home")
        assert response.status_code == 200, response.status_code
        assert user.name in response.get_data(as_text=True)
        anonymous = other.test_client().get("/home")
        assert anonymous.status_code == 302  # without the cookie: to the login page
