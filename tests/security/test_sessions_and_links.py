"""Sessions end for good at logout and at a new password, a stolen cookie included; the
remember cookie is SameSite and short-lived; mailed links use the configured base URL,
never the request's Host header."""
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail
from tests.conftest import IsolatedClient
from tests.factories import PASSWORD, login


def _thief(app, victim, names=("session", "remember_token")):
    """Another browser holding copies of the victim's cookies."""
    app.test_client_class = IsolatedClient
    thief = app.test_client()
    for name in names:
        cookie = victim.get_cookie(name, domain="marketplace.test")
        if cookie is not None:
            thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def _logged_in(client) -> bool:
    return client.get("/home").status_code == 200


def _last_mail(recipient):
    return db.session.scalars(select(OutgoingMail.body).where(OutgoingMail.recipient == recipient)
                              .order_by(OutgoingMail.id.desc())).first()


def test_a_stolen_session_cookie_stops_working_at_logout(app, client, factory):
    user = factory.user("enterprise")
    login(client, user)
    thief = _thief(app, client, ("session",))
    assert _logged_in(thief)  # the copy works while the victim is logged in
    client.post("/logout")
    assert not _logged_in(thief)


def _thief_with(app, name, user_cookie):
    app.test_client_class = IsolatedClient
    thief = app.test_client()
    thief.set_cookie(name, user_cookie["value"], domain=user_cookie["domain"])
    return thief


def test_a_copied_remember_token_dies_with_the_logout_it_outlived(app, client, factory):
    user = factory.user("enterprise")
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie("remember_token", domain="marketplace.test")
    stolen = {"value": cookie.value, "domain": cookie.domain}
    assert _logged_in(_thief_with(app, "remember_token", stolen))
    client.post("/logout")
    assert not _logged_in(_thief_with(app, "remember_token", stolen))


def test_changing_the_password_ends_every_other_session(app, client, factory):
    user = factory.user("enterprise")
    login(client, user)
    thief = _thief(app, client)
    response = client.post("/account/password", data={"current": PASSWORD, "password": "new-quiet-harbour-7",
                                                      "confirm": "new-quiet-harbour-7"})
    assert response.status_code == 302
    assert _logged_in(client)  # the session that changed it goes on
    assert not _logged_in(thief)
    client.post("/logout")
    login(client, user, "new-quiet-harbour-7")


def test_the_wrong_current_password_changes_nothing(client, factory):
    user = factory.user("enterprise")
    login(client, user)
    response = client.post("/account/password", data={"current": "not-my-password", "password": "new-quiet-harbour-7",
                                                      "confirm": "new-quiet-harbour-7"})
    assert response.status_code == 400 and 'class="error"' in response.get_data(as_text=True)
    assert _logged_in(client)
    client.post("/logout")
    login(client, user)


def test_a_password_reset_ends_a_stolen_session(app, client, factory):
    user = factory.user("enterprise")
    login(client, user)
    thief = _thief(app, client)
    assert _logged_in(thief)
    app.test_client_class = IsolatedClient
    owner = app.test_client()  # the owner, elsewhere, resets the password
    owner.post("/password/forgot", data={"email": user.email})
    link = re.search(r"https?://\S+", _last_mail(user.email)).group(0).split("marketplace.test", 1)[1]
    assert owner.post(link, data={"password": "fresh-lantern-road", "confirm": "fresh-lantern-road"}).status_code == 302
    assert not _logged_in(thief)
    assert not _logged_in(client)


def test_the_remember_cookie_is_samesite_and_lasts_two_weeks(client, factory, app):
    user = factory.user("enterprise")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    attrs = {part.strip().split("=", 1)[0].lower(): part.strip().partition("=")[2] for part in header.split(";")}
    assert attrs.get("samesite", "").lower() in ("lax", "strict")
    assert "httponly" in attrs
    expires = parsedate_to_datetime(attrs["expires"])
    lifetime = expires - datetime.now(timezone.utc)
    assert timedelta(days=13) < lifetime <= timedelta(days=14, minutes=1)
    assert app.config["REMEMBER_COOKIE_DURATION"] == 14 * 24 * 3600


def test_a_cookie_from_before_session_versions_loads_nobody(app, client, factory):
    # A session id without the version (as every cookie before this change carried) is refused.
    user = factory.user("enterprise")
    login(client, user)
    with client.session_transaction() as session:
        assert session["_user_id"] == f"{user.id}.{user.session_version}"
        session["_user_id"] = str(user.id)
    assert not _logged_in(client)


def test_reset_link_is_built_on_the_configured_base_url_not_the_host_header(app, client, factory, monkeypatch):
    # As served by gunicorn: no SERVER_NAME, so the Host header is whatever the sender says.
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    user = factory.user("enterprise")
    response = client.post("/password/forgot", data={"email": user.email}, headers={"Host": "evil.example"})
    assert response.status_code == 302
    body = _last_mail(user.email)
    assert "evil.example" not in body
    assert "http://marketplace.test/password/reset/" in body


def test_invitation_link_is_built_on_the_configured_base_url(app, factory, monkeypatch):
    from marketplace.accounts import services

    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    owner = factory.user("enterprise")
    with app.test_request_context("/members", method="POST", headers={"Host": "evil.example"}):
        services.invite_member(owner, "friend@example.com", "enterprise")
    body = _last_mail("friend@example.com")
    assert "evil.example" not in body and "http://marketplace.test/invitations/" in body
