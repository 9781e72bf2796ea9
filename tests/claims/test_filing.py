"""Award claims (B1–B6, A2.national, A2.provincial) filed with evidence: the form comes from
the engine's registry, the amount from compute_claim, and uploads are checked before anything
is written and served only to the applicant and the city."""
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.errors import PermissionDenied, ServiceError
from marketplace.core.money import yuan_to_fen
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.subsidies import CLAIM_KINDS, compute_claim
from tests.claims.helpers import as_user
from tests.factories import login

PDF = b"%PDF-1.4\n%test evidence\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
YEAR = utcnow().year - 1


def _uploads(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"]) / "claims"
    return sorted(p for p in root.iterdir()) if root.exists() else []


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


B5_FORM = {"year": str(YEAR), "programme": "泰山学者", "level": "provincial", "funding": "300000",
           "awarded_on": f"{YEAR}-06-01"}


def test_the_form_is_generated_from_the_registry(client, factory):
    login(client, factory.user("enterprise"))
    client.post("/lang/en")
    page = client.get("/claims/new").get_data(as_text=True)
    for kind in CLAIM_KINDS:
        assert f"kind={kind}" in page
    page = client.get("/claims/new?kind=B3").get_data(as_text=True)
    for f in CLAIM_KINDS["B3"].fields:
        assert f'name="{f.name}"' in page and f.label_en in page
    assert 'value="national_demonstration"' in page and 'type="file"' in page
    client.post("/lang/zh")
    assert "列入日期" in client.get("/claims/new?kind=B3").get_data(as_text=True)


def test_a_b_claim_amount_equals_compute_claim_and_its_files_are_stored_privately(app, client, factory):
    applicant = factory.user("enterprise")
    login(client, applicant)
    response = client.post("/claims/new?kind=B5", data={
        **B5_FORM, "files": [(io.BytesIO(PDF), "入选文件.pdf"), (io.BytesIO(PNG), "photo.png")]},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    claim = db.session.scalars(select(m.Claim)).one()
    expected = compute_claim("B5", {"applicant": applicant.organization.credit_code, "programme": "泰山学者",
                                    "level": "provincial", "funding": "300000", "awarded_on": f"{YEAR}-06-01"},
                             claims.claim_date(YEAR))
    assert expected.amount == Decimal("300000.00")
    assert claim.amount_fen == yuan_to_fen(expected.amount)
    assert (claim.clause, claim.year, claim.status, claim.source) == ("B5", YEAR, m.SUBMITTED, m.FILED)
    assert claim.organization_id == applicant.organization.id
    stored = _uploads(app)
    assert len(stored) == 2 and {f.original_name for f in claim.files} == {"入选文件.pdf", "photo.png"}
    assert {p.name for p in stored} == {f.stored_name for f in claim.files}
    assert all(len(p.name) == 40 and "." not in p.name for p in stored)  # random names, no extension
    assert not str(Path(app.config["UPLOAD_DIR"]).resolve()).startswith(str(Path(app.static_folder).resolve()))
    assert {f.content_type for f in claim.files} == {"application/pdf", "image/png"}
    assert [d.action for d in claim.decisions] == ["filed"]


def test_wrong_file_type_is_refused_and_nothing_is_written(app, client, factory):
    login(client, factory.user("enterprise"))
    for name, data in (("evidence.pdf", b"MZ\x90\x00 not a pdf"), ("evidence.exe", PDF), ("scan.png", PDF),
                       ("empty.pdf", b"")):
        response = client.post("/claims/new?kind=B5", data={**B5_FORM, "files": [(io.BytesIO(data), name)]},
                               content_type="multipart/form-data")
        assert response.status_code == 400, name
        assert _count(m.Claim) == 0 and _count(m.ClaimFile) == 0 and _uploads(app) == []


def test_a_file_over_10_mb_is_refused_and_nothing_is_written(app, client, factory):
    user = factory.user("enterprise")
    login(client, user)
    big = PDF + b"0" * (10 * 1024 * 1024)
    response = client.post("/claims/new?kind=B5", data={**B5_FORM, "files": [(io.BytesIO(big), "big.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    with pytest.raises(ServiceError) as caught:  # and the service refuses it whoever calls
        claims.file_claim(user, user.organization.id, "B5", {k: v for k, v in B5_FORM.items() if k != "year"}, YEAR,
                          files=[("big.pdf", big)])
    assert caught.value.field == "files"
    assert _count(m.Claim) == 0 and _count(m.ClaimFile) == 0 and _uploads(app) == []


def test_bad_or_insufficient_evidence_is_refused_with_a_clear_error(client, factory):
    login(client, factory.user("enterprise"))
    client.post("/lang/en")
    response = client.post("/claims/new?kind=B5", data={**B5_FORM, "funding": ""})
    assert response.status_code == 400 and "This field is required." in response.get_data(as_text=True)
    response = client.post("/claims/new?kind=B5", data={**B5_FORM, "funding": "99999.99"})
    assert response.status_code == 400 and "does not qualify" in response.get_data(as_text=True)
    response = client.post("/claims/new?kind=B5", data={**B5_FORM, "awarded_on": "yesterday"})
    assert response.status_code == 400 and "Check this field: not a date" in response.get_data(as_text=True)
    assert _count(m.Claim) == 0


def test_evidence_is_downloadable_only_by_the_applicant_and_the_city(client, factory):
    applicant = factory.user("enterprise")
    claim = claims.file_claim(applicant, applicant.organization.id, "B2",
                              {"level": "provincial", "newly_recognised": True, "recognised_on": f"{YEAR}-05-01"},
                              YEAR, files=[("认定文件.pdf", PDF)])
    file_id = claim.files[0].id
    assert client.get(f"/claims/files/{file_id}").status_code == 302  # log in first
    for user, status in ((applicant, 200), (factory.user("enterprise"), 403), (factory.user("provider"), 403),
                         (factory.user("reviewer"), 200), (factory.user("finance"), 200)):
        as_user(client, user)
        response = client.get(f"/claims/files/{file_id}")
        assert response.status_code == status, user.role
        if status == 200:
            assert response.data == PDF and response.mimetype == "application/pdf"
            assert "attachment" in response.headers["Content-Disposition"]


def test_the_city_files_on_behalf_of_an_organisation(client, factory):
    org = factory.organization(kind="enterprise")
    reviewer = factory.user("reviewer")
    claim = claims.file_claim(reviewer, org.id, "B6.excellent", {"selected_on": f"{YEAR}-09-01"}, YEAR)
    assert (claim.organization_id, claim.amount_fen, claim.filed_by_id) == (org.id, 2_000_000, reviewer.id)
    as_user(client, reviewer)
    response = client.post("/claims/new?kind=B6.advanced", data={"year": str(YEAR), "organization": org.credit_code,
                                                                  "selected_on": f"{YEAR}-09-01"})
    assert response.status_code == 302
    assert db.session.scalar(select(m.Claim).where(m.Claim.clause == "B6.advanced")).organization_id == org.id
    # A member may file only for its own organisation, and only once verified.
    outsider = factory.user("enterprise")
    with pytest.raises(PermissionDenied):
        claims.file_claim(outsider, org.id, "B6.excellent", {"selected_on": f"{YEAR}-09-01"}, YEAR)
    unverified = factory.user("enterprise", verified=False)
    with pytest.raises(PermissionDenied):
        claims.file_claim(unverified, unverified.organization.id, "B6.excellent", {"selected_on": f"{YEAR}-09-01"}, YEAR)
    with pytest.raises(ServiceError):  # the same claim twice
        claims.file_claim(reviewer, org.id, "B6.excellent", {"selected_on": f"{YEAR}-09-01"}, YEAR)


def test_the_applicant_answers_a_request_for_evidence(client, factory):
    from marketplace.review import services as review

    applicant, reviewer = factory.user("enterprise"), factory.user("reviewer")
    claim = claims.file_claim(applicant, applicant.organization.id, "B6.excellent", {"selected_on": f"{YEAR}-09-01"},
                              YEAR)
    review.request_evidence(reviewer, claim.id, "请补充评选文件")
    login(client, applicant)
    client.post("/lang/en")
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "请补充评选文件" in page and "Send to the reviewer" in page
    assert client.post(f"/claims/{claim.id}/respond", data={"message": ""}).status_code == 400
    response = client.post(f"/claims/{claim.id}/respond", data={"message": "见附件",
                                                                 "files": [(io.BytesIO(PDF), "评选文件.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    claim = db.session.get(m.Claim, claim.id)
    assert claim.status == m.SUBMITTED and len(claim.files) == 1
    assert [d.action for d in claim.decisions][-2:] == ["evidence_requested", "evidence_provided"]
