"""A backup taken while payments are being written restores into a fresh database: the ledger
verifies, its head is the manifest's, the claims and the uploads are all there.
Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (pg_dump/pg_restore)."""
import io
import json
import tarfile
import threading
import time

import pytest
from sqlalchemy import inspect, select, text

from marketplace import create_app
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.extensions import db
from marketplace.ledger import services as ledger
from marketplace.listings.models import ListingAttachment
from marketplace.ops import backup
from tests.claims.helpers import buy_with_voucher, published_service
from tests.factories import login
from tests.ledger.helpers import payment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture()
def upload_dir(app, tmp_path):
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = previous


def _claim_figures():
    rows = db.session.scalars(select(m.Claim).order_by(m.Claim.id)).all()
    return sorted((c.clause, c.organization.credit_code, c.status, c.amount_fen, c.engine_amount_fen) for c in rows)


def _some_business(client, factory):
    """Orders paid with vouchers (ledger entries, engine-drafted claims), a filed claim and
    an uploaded attachment."""
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published_service(provider)
    buy_with_voucher(client, buyer, service)
    buy_with_voucher(client, buyer, service)
    claims.file_claim(buyer, buyer.organization.id, "B1",
                      {"project": "市县联合项目", "city_county_joint": True, "requested_amount": "200000"}, 2025)
    login(client, provider)
    response = client.post(f"/listings/{service.id}/attachments", content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(PDF), "检测资质.pdf")]})
    assert response.status_code == 302
    client.post("/logout")


def test_backup_under_write_load_restores_into_a_fresh_database(app, client, factory, upload_dir, tmp_path,
                                                                 empty_database_url):
    _some_business(client, factory)
    figures_before = _claim_figures()
    attachment = db.session.scalars(select(ListingAttachment)).one()
    assert figures_before and attachment

    stop, errors, written = threading.Event(), [], []

    def writer():  # payments land in the ledger while the backup runs
        try:
            with app.app_context():
                i = 0
                while not stop.is_set():
                    i += 1
                    payment(f"LOAD-{i}", "1.00")
                    db.session.commit()
                    written.append(i)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            time.sleep(0.01)
        started = time.perf_counter()
        path = backup.create_backup(tmp_path / "backups")
        took = time.perf_counter() - started
        after_backup = len(written)
        while len(written) < after_backup + 5:  # and go on after it
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(60)
    assert errors == []
    manifest = json.loads((path / "manifest.json").read_text())
    db.session.expire_all()
    assert 0 < manifest["ledger"]["entries"] < ledger.head()[0]  # taken in the middle of the writes
    assert manifest["uploads"]["files"] == 3  # the attachment and the two delivered test reports
    print(f"backup of {manifest['ledger']['entries']} ledger entries under load: {took:.2f}s")

    restored = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url,
                           "UPLOAD_DIR": str(tmp_path / "restored-uploads"),
                           "SEARCH_SQLITE_PATH": str(tmp_path / "restored-search.sqlite")})
    with restored.app_context():  # (the CLI runner uses the app context in force)
        try:
            result = restored.test_cli_runner().invoke(args=["backup", "restore", str(path)])
            assert result.exit_code == 0, result.output
            assert "ledger intact" in result.output and "MISMATCH" not in result.output
            check = ledger.verify()
            assert check.ok and check.checked == manifest["ledger"]["entries"]
            seq, head_hash = ledger.head()
            assert (seq, head_hash) == (manifest["ledger"]["head_seq"], manifest["ledger"]["head_hash"])
            assert _claim_figures() == figures_before
            copy = db.session.scalars(select(ListingAttachment)).one()
            assert (tmp_path / "restored-uploads" / "listings" / copy.stored_name).read_bytes() == PDF
            # The restored ledger keeps its guards: history cannot be rewritten there either.
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(text("UPDATE ledger_entries SET amount_fen = 1 WHERE seq = 1"))
        finally:
            db.session.remove()
            db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(app_ctx, tmp_path, upload_dir):
    payment("ORD-1", "5.00")
    db.session.commit()
    path = backup.create_backup(tmp_path / "backups")
    result = app_ctx.test_cli_runner().invoke(args=["backup", "restore", str(path)])
    assert result.exit_code == 1
    assert "restore refused: the target database is not empty" in result.output
    assert ledger.verify().checked == 1  # nothing was touched


def test_a_damaged_backup_is_refused(app_ctx, tmp_path, empty_database_url, upload_dir):
    path = backup.create_backup(tmp_path / "backups")
    db_file = next(p for p in path.iterdir() if p.name.startswith("database."))
    db_file.write_bytes(db_file.read_bytes()[:-10] + b"0123456789")
    target = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url,
                         "UPLOAD_DIR": str(tmp_path / "restored-uploads")})
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(path)])
        assert result.exit_code == 1 and "missing or damaged" in result.output
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_create_keeps_the_newest_backups_only(app_ctx, tmp_path, upload_dir):
    out = tmp_path / "backups"
    made = []
    for _ in range(4):
        made.append(backup.create_backup(out, keep=2))
    assert backup.backups_in(out) == made[-2:]
    assert not list(out.glob(".partial-*"))
    result = app_ctx.test_cli_runner().invoke(args=["backup", "create", "--output", str(out), "--keep", "3"])
    assert result.exit_code == 0, result.output
    assert len(backup.backups_in(out)) == 3 and "backup written" in result.output


def _with_uploads(path, members):
    """Rewrite a backup's uploads archive to hold ``members`` ((TarInfo, bytes or None), …) and
    its manifest to match, as a backup taken elsewhere would be: intact by its checksums."""
    archive = path / "uploads.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["uploads"]["sha256"] = backup._sha256(archive)
    (path / "manifest.json").write_text(json.dumps(manifest))


def _member(name, kind="file", data=b"x", mode=0o644, target=""):
    info = tarfile.TarInfo(name)
    info.mode = mode
    if kind == "file":
        info.size = len(data)
        return info, data
    info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "dir": tarfile.DIRTYPE,
                 "fifo": tarfile.FIFOTYPE}[kind]
    info.linkname = target
    return info, None


@pytest.mark.parametrize("bad", [
    _member("uploads/evil", "symlink", target="/etc/passwd"),
    _member("uploads/hard", "hardlink", target="etc/passwd"),
    _member("uploads/../outside.txt"),
    _member("uploads//etc/cron.d/job"),
    _member("uploads/pipe", "fifo"),
], ids=["symlink", "hardlink", "parent", "absolute", "fifo"])
def test_an_uploads_archive_with_anything_but_plain_files_is_refused_before_anything_is_written(
        app_ctx, tmp_path, empty_database_url, upload_dir, bad):
    path = backup.create_backup(tmp_path / "backups")
    _with_uploads(path, [_member("uploads/ok.pdf", data=PDF), bad])
    restored_uploads = tmp_path / "restore" / "uploads"
    target = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url,
                         "UPLOAD_DIR": str(restored_uploads)})
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(path)])
        assert result.exit_code == 1 and "only plain files and folders inside uploads/ are restored" in result.output
        assert inspect(db.engine).get_table_names() == []  # the database was not restored either
        db.engine.dispose()
    assert not restored_uploads.exists() and not (tmp_path / "restore" / "outside.txt").exists()


def test_restored_uploads_lose_set_id_bits_and_write_for_others(app_ctx, tmp_path, empty_database_url, upload_dir):
    path = backup.create_backup(tmp_path / "backups")
    _with_uploads(path, [_member("uploads/att", "dir", mode=0o777), _member("uploads/att/a.pdf", data=PDF, mode=0o6777)])
    restored_uploads = tmp_path / "restored-uploads"
    target = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url,
                         "UPLOAD_DIR": str(restored_uploads)})
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(path)])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    restored = restored_uploads / "att" / "a.pdf"
    assert restored.read_bytes() == PDF
    assert restored.stat().st_mode & 0o7777 == 0o644 and (restored_uploads / "att").stat().st_mode & 0o7777 == 0o755
