"""Favourites (收藏): a logged-in user stars the listings they want to come back to.

Starring is idempotent and safe under races: the unique key (user, listing) holds one star;
a second request, or a parallel one, finds it there and changes nothing. Only listings the
user can see are starred; a favourite whose listing left the market stays on the list,
marked, until the user removes it.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace import permissions as perm
from marketplace.core import paging
from marketplace.core.uow import transactional
from marketplace.extensions import db
from marketplace.favourites.models import Favourite
from marketplace.listings import services as listings
from marketplace.listings.models import Listing


@transactional
def star(actor, listing_id: int) -> bool:
    """Star a listing; True when this request added the star, False when it was already there."""
    perm.require(actor, perm.KEEP_FAVOURITES)
    listing = listings.get_listing(actor, listing_id)
    if _starred(actor.id, listing.id):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(Favourite(user_id=actor.id, listing_id=listing.id))
    except IntegrityError:  # a parallel request starred it first: one star
        return False
    return True


@transactional
def unstar(actor, listing_id: int) -> bool:
    """Remove a star (also of a listing that has left the market); True when one was removed."""
    perm.require(actor, perm.KEEP_FAVOURITES)
    removed = db.session.execute(delete(Favourite).where(Favourite.user_id == actor.id,
                                                         Favourite.listing_id == listing_id)).rowcount
    return bool(removed)


def _starred(user_id: int, listing_id: int) -> bool:
    return db.session.scalar(select(Favourite.id).where(Favourite.user_id == user_id,
                                                        Favourite.listing_id == listing_id)) is not None


def starred_ids(viewer, listing_ids) -> set[int]:
    """Which of ``listing_ids`` the viewer starred (none for anonymous visitors)."""
    ids = [i for i in listing_ids if isinstance(i, int)]
    if not ids or not perm.can(viewer, perm.KEEP_FAVOURITES):
        return set()
    return set(db.session.scalars(select(Favourite.listing_id).where(Favourite.user_id == viewer.id,
                                                                     Favourite.listing_id.in_(ids))))


def favourites_of(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Favourite]:
    """The actor's favourites, most recently starred first, a page at a time."""
    perm.require(actor, perm.KEEP_FAVOURITES)
    stmt = (select(Favourite).where(Favourite.user_id == actor.id)
            .options(joinedload(Favourite.listing).joinedload(Listing.organization)))
    return paging.paginate(stmt, order_by=(Favourite.created_at.desc(),), tiebreak=Favourite.id.desc(),
                           page=page, per_page=per_page)


def still_offered(viewer, favourite: Favourite) -> bool:
    return listings.visible_to(viewer, favourite.listing)
