"""The platform's side of search: listings become documents, the outbox reaches the index.

Listing services write an outbox row in their transaction; after the request commits,
``drain`` indexes or deletes what the rows name and removes the rows. Rows left behind by
a crash are caught up by the next drain (or ``flask search drain``).
"""
from __future__ import annotations

import logging

import click
from flask import current_app, g, has_request_context
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.outbox import OutboxEntry
from search.backend import make_backend
from search.documents import Document, SearchQuery

log = logging.getLogger(__name__)


def backend():
    """The configured backend, one per app."""
    app = current_app._get_current_object()
    existing = app.extensions.get("search_backend")
    if existing is None:
        config = app.config
        if config["SEARCH_BACKEND"] == "elasticsearch":
            existing = make_backend("elasticsearch", url=config["ELASTICSEARCH_URL"], index=config["ELASTICSEARCH_INDEX"])
        else:
            existing = make_backend("embedded", path=config["SEARCH_SQLITE_PATH"])
        existing.ensure_index()
        app.extensions["search_backend"] = existing
    return existing


def document_id(listing_id: int, kind: str) -> str:
    return f"{kind}:{listing_id}"


def to_document(listing: Listing) -> Document:
    """The listing as the index sees it. Besides its text, it is found by the words of its
    codes (search/vocabulary.yaml: kind, transfer modes, field, county — added by the
    search package — and, added here, its IP kind and maturity), and its organisation
    by its English name too."""
    from search.vocabulary import labels

    keywords = [*labels("ip_kind", listing.ip_kind), *labels("maturity", listing.maturity)]
    return Document(id=document_id(listing.id, listing.kind), kind=listing.kind, title=listing.title,
                    body=listing.description or "", org_name=listing.organization.name, field=listing.field,
                    county=listing.county, transfer_modes=listing.modes, voucher_eligible=listing.voucher_eligible,
                    price_fen=None if listing.negotiable else listing.price_fen,
                    published_at=listing.published_at or listing.created_at,
                    keywords=" / ".join(dict.fromkeys(keywords)), org_name_en=listing.organization.name_en or "")


def mark_dirty() -> None:
    if has_request_context():
        g.search_outbox_dirty = True


def drain(limit: int = 500) -> int:
    """Apply pending outbox rows to the index; returns how many rows were done."""
    rows = list(db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "search")
                                   .order_by(OutboxEntry.id).limit(limit)))
    if not rows:
        return 0
    ids = {int(row.key) for row in rows}
    listings = {l.id: l for l in db.session.scalars(select(Listing).where(Listing.id.in_(ids)))}
    index = backend()
    to_index = [to_document(l) for l in listings.values() if l.status == "published"]
    to_delete = [document_id(l.id, l.kind) for l in listings.values() if l.status != "published"]
    if to_index:
        index.index(to_index)
    if to_delete:
        index.delete(to_delete)
    for row in rows:
        db.session.delete(row)
    db.session.commit()
    return len(rows)


def drain_after_request(response):
    if g.get("search_outbox_dirty"):
        try:
            drain()
        except Exception:  # noqa: BLE001 - the rows stay; the next drain catches up
            db.session.rollback()
            log.exception("search drain failed; outbox rows kept for the next drain")
    return response


def published_listings():
    return db.session.scalars(select(Listing).where(Listing.status == "published").order_by(Listing.id)
                              .execution_options(yield_per=500))


def reindex(progress=None) -> int:
    count = backend().reindex((to_document(l) for l in published_listings()), progress=progress)
    db.session.execute(OutboxEntry.__table__.delete().where(OutboxEntry.topic == "search"))
    db.session.commit()
    return count


def query(q: SearchQuery):
    return backend().query(q)


cli = AppGroup("search", help="The search index.")


@cli.command("reindex")
def reindex_command():
    """Rebuild the index from the published listings."""
    total = db.session.scalar(select(db.func.count()).select_from(Listing).where(Listing.status == "published"))
    with click.progressbar(length=total, label="reindex") as bar:
        last = [0]

        def progress(done):
            bar.update(done - last[0])
            last[0] = done

        count = reindex(progress)
    click.echo(f"indexed {count} listings")


@cli.command("drain")
def drain_command():
    """Apply the pending outbox rows (after a crash, say)."""
    done = total = 0
    while (done := drain()) > 0:
        total += done
    click.echo(f"applied {total} outbox rows")


@cli.command("query")
@click.argument("text")
@click.option("--kind")
@click.option("--json", "as_json", is_flag=True)
def query_command(text, kind, as_json):
    """Search published listings."""
    import json

    results = query(SearchQuery(text=text, kind=kind))
    if as_json:
        click.echo(json.dumps({"total": results.total, "hits": [
            {"id": h.id, "kind": h.kind, "title": h.title, "score": h.score, "price_fen": h.price_fen}
            for h in results.hits]}, ensure_ascii=False, indent=2))
    else:
        for h in results.hits:
            click.echo(f"{h.id:<18} {h.title}")
        click.echo(f"{results.total} hits")
