"""A message waits in the session cookie until a page shows it; a client that never follows
the redirects keeps only the latest few, so the cookie stays small."""
from flask import session

from marketplace.app import FLASHES_KEPT
from marketplace.listings import services as listings
from tests.factories import login


def test_a_client_that_never_reads_the_pages_keeps_only_the_latest_messages(client, provider, enterprise):
    listing = listings.create_listing(provider, "service", {"title": "检测服务", "description": "",
                                                            "price_fen": 120_000, "negotiable": False})
    listing_id = listings.publish(provider, listing.id).id
    login(client, enterprise)
    client.get("/")  # (the sign-in's own message shown)
    orders = []
    for _ in range(FLASHES_KEPT + 3):  # orders placed and paid without opening the pages they lead to
        response = client.post(f"/listings/{listing_id}/order")
        assert response.status_code == 302
        orders.append(response.headers["Location"])
        assert client.post(orders[-1] + "/pay").status_code == 302
    with client.session_transaction() as stored:
        waiting = stored.get("_flashes")
    assert waiting is not None and len(waiting) == FLASHES_KEPT
    assert all("Payment sent" in message or "付款" in message or "支付" in message for _c, message in waiting), waiting
    # the page the last redirect leads to shows the latest messages, and then none wait
    page = client.get(orders[-1])
    assert page.status_code == 200
    with client.session_transaction() as stored:
        assert not stored.get("_flashes")


def test_a_few_messages_are_all_kept(app, client, provider, enterprise):
    with app.test_request_context("/"):
        from flask import flash

        for n in range(FLASHES_KEPT):
            flash(f"message {n}")
        response = app.process_response(app.response_class())
        assert [m for _c, m in session["_flashes"]] == [f"message {n}" for n in range(FLASHES_KEPT)]
        assert response.status_code == 200
