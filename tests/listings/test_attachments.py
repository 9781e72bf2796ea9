"""Listing attachments: checked by their first bytes, stored outside the web root, served to
whoever may see the listing, removable by the owner only."""
import io

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import ListingAttachment
from tests.factories import login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture()
def upload_dir(app, tmp_path):
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = previous


def _patent(user):
    listing = listings.create_listing(user, "achievement", {
        "title": "一种轴承钢热处理方法", "price_fen": 100, "ip_kind": "invention_patent",
        "transfer_modes": ["assignment"]})
    return listings.publish(user, listing.id)


def _post(client, listing_id, *files):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/listings/{listing_id}/attachments", data=data, content_type="multipart/form-data")


def test_owner_attaches_and_anyone_downloads_a_published_listings_file(client, factory, upload_dir):
    university = factory.user("university", kind="university")
    patent = _patent(university)
    login(client, university)
    assert _post(client, patent.id, ("专利证书.pdf", PDF), ("photo.png", PNG)).status_code == 302
    stored = db.session.scalars(select(ListingAttachment).order_by(ListingAttachment.id)).all()
    assert [a.original_name for a in stored] == ["专利证书.pdf", "photo.png"]
    assert all((upload_dir / "listings" / a.stored_name).read_bytes() in (PDF, PNG) for a in stored)
    client.post("/logout")
    response = client.get(f"/attachments/{stored[0].id}")  # anonymous: the listing is public
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]


def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_written(client, factory, upload_dir):
    university = factory.user("university", kind="university")
    patent = _patent(university)
    login(client, university)
    response = _post(client, patent.id, ("good.pdf", PDF), ("evil.pdf", b"<html><script>alert(1)</script>"))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ListingAttachment)) == 0
    assert not (upload_dir / "listings").exists() or not any((upload_dir / "listings").iterdir())


def test_only_the_owner_attaches_or_removes(client, factory, upload_dir):
    university = factory.user("university", kind="university")
    patent = _patent(university)
    other = factory.user("enterprise")
    login(client, other)
    assert _post(client, patent.id, ("a.pdf", PDF)).status_code == 403
    client.post("/logout")
    login(client, university)
    _post(client, patent.id, ("a.pdf", PDF))
    attachment = db.session.scalars(select(ListingAttachment)).one()
    path = upload_dir / "listings" / attachment.stored_name
    client.post("/logout")
    login(client, other)
    assert client.post(f"/attachments/{attachment.id}/delete").status_code == 403
    client.post("/logout")
    login(client, university)
    assert client.post(f"/attachments/{attachment.id}/delete").status_code == 302
    assert not path.exists() and db.session.scalar(select(func.count()).select_from(ListingAttachment)) == 0


def test_a_drafts_files_stay_private(client, factory, upload_dir):
    university = factory.user("university", kind="university")
    draft = listings.create_listing(university, "achievement", {
        "title": "草稿成果", "price_fen": 100, "ip_kind": "know_how", "transfer_modes": ["assignment"]})
    attachment = listings.attach_files(university, draft.id, [("spec.pdf", PDF)])[0]
    assert client.get(f"/attachments/{attachment.id}").status_code == 404
    login(client, university)
    assert client.get(f"/attachments/{attachment.id}").status_code == 200
