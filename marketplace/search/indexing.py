"""The platform's side of search: listings become documents, the outbox reaches the index.

Listing services write a ("search", listing id) outbox row in their transaction; the outbox
hands the ids to ``apply`` after commit (at the end of the request, or in the worker), which
indexes or deletes each listing as it now stands. Rows left behind by a crash are caught up by
the next drain (or ``flask search drain``).
"""
from __future__ import annotations

import logging

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace import outbox
from marketplace.core.uow import transactional
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
            existing = make_backend("embedded", path=config["SEARCH_SQLITE_PATH"],
                                    reindex_inline=config["SEARCH_REINDEX_INLINE"])
        existing.ensure_index()
        app.extensions["search_backend"] = existing
    return existing


def warm(app: Flask) -> None:
    """Ready the search backend before a preloading server forks its workers (gunicorn's
    ``when_ready`` hook in deploy/gunicorn.conf.py): the embedded index's snapshot is built
    once, in the master, and every worker inherits it instead of paying for it on its
    first /search. A failure is logged, never fatal: the workers build their own then.
    Elasticsearch needs no warming, and its client's connections must not cross a fork."""
    if app.config["SEARCH_BACKEND"] == "elasticsearch":
        return
    try:
        with app.app_context():
            index = backend()
            if hasattr(index, "warm"):
                index.warm()
    except Exception:  # noqa: BLE001 - a warm-up must not stop the server
        log.exception("search warm-up failed; each worker builds its snapshot on first use")


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


TOPIC = "search"


def apply(keys: list[str]) -> None:
    """The outbox handler: bring the index in line with these listings as they now stand."""
    ids = {int(key) for key in keys}
    listings = {listing.id: listing for listing in db.session.scalars(select(Listing).where(Listing.id.in_(ids)))}
    index = backend()
    to_index = [to_document(listing) for listing in listings.values() if listing.status == "published"]
    to_delete = [document_id(listing.id, listing.kind) for listing in listings.values()
                 if listing.status != "published"]
    if to_index:
        index.index(to_index)
    if to_delete:
        index.delete(to_delete)


def drain() -> int:
    """Apply every pending search row now; returns how many rows were done."""
    return outbox.drain([TOPIC])


COMPACT_EVERY_S = 60


def compact_if_due(now=None) -> bool:
    """The timed job: once the listings written since the embedded index's bitmaps were
    made pass half the number a snapshot keeps apart, rank everything afresh and rewrite
    the bitmaps (``EmbeddedBackend.compact``: a read transaction, then one short write),
    so that queries stay on the fast path without a ``flask search reindex``. Elasticsearch
    needs nothing. Returns whether it compacted."""
    if current_app.config["SEARCH_BACKEND"] == "elasticsearch":
        return False
    index = backend()
    if not index.compact_due():
        return False
    tail = index.tail_rows()
    done = index.compact()
    log.info("search index compacted", extra={"tail_rows": tail, "written": done})
    return done


def init_app(app: Flask) -> None:
    from marketplace import worker

    outbox.register(app, TOPIC, apply, batch=500)
    worker.schedule(app, "search.compact", COMPACT_EVERY_S, compact_if_due)
    app.cli.add_command(cli)


def published_listings():
    return db.session.scalars(select(Listing).where(Listing.status == "published").order_by(Listing.id)
                              .execution_options(yield_per=500))


@transactional
def reindex(progress=None) -> int:
    count = backend().reindex((to_document(listing) for listing in published_listings()), progress=progress)
    db.session.execute(OutboxEntry.__table__.delete().where(OutboxEntry.topic == "search"))
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


@cli.command("compact")
@click.option("--if-due", is_flag=True, help="Only when the worker's timed job would.")
def compact_command(if_due):
    """Rank the listings written since the last reindex into the embedded index's bitmaps."""
    index = backend()
    if not hasattr(index, "compact"):
        click.echo("nothing to compact (not the embedded backend)")
        return
    tail = index.tail_rows()
    done = compact_if_due() if if_due else index.compact()
    click.echo(f"{tail} rows written since the bitmaps; compacted: {'yes' if done else 'no'}")


@cli.command("drain")
def drain_command():
    """Apply the pending outbox rows (after a crash, say)."""
    click.echo(f"applied {drain()} outbox rows")


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
