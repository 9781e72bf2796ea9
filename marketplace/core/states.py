"""Named states and the one table of moves between them.

A status column holds the value of a ``StrEnum`` (the same strings as ever, so nothing in
the database changes); which moves exist is one table per kind of thing, next to its model:

    ORDER = Transitions("order", {
        OrderStatus.PENDING_PAYMENT: {OrderStatus.PAID, OrderStatus.CANCELLED},
        ...
    })

A service asks the table before it moves a row (``ORDER.require(order.status, PAID)``) and
guards the move in the database with the states it may come from (``ORDER.sources(PAID)``
in the conditional UPDATE). A move that is not in the table is refused with a clear error
(``TransitionRefused``, 409 unless the service asks for another); the table says what can
happen at all, ``marketplace.permissions`` says who may make it happen.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Generic, Iterable, Mapping, TypeVar

from marketplace.core.errors import Conflict, ServiceError

S = TypeVar("S", bound=StrEnum)


class TransitionRefused(Conflict):
    """A move the transition table does not have."""


class Transitions(Generic[S]):
    def __init__(self, name: str, moves: Mapping[S, Iterable[S]], label_group: str | None = None):
        self.name = name
        self.label_group = label_group or f"{name}_status"
        self.moves: dict[S, frozenset[S]] = {state: frozenset(targets) for state, targets in moves.items()}
        states = set(self.moves) | {t for targets in self.moves.values() for t in targets}
        if len({type(s) for s in states}) != 1:
            raise TypeError(f"{name}: states of one table are members of one StrEnum")
        self.enum: type[S] = type(next(iter(states)))
        missing = set(self.enum) - set(self.moves)
        if missing:  # every state is named in the table, final ones with no way out
            raise ValueError(f"{name}: states missing from the table: {sorted(missing)}")

    def allows(self, current: str | None, target: str) -> bool:
        try:
            return self.enum(target) in self.moves[self.enum(current)]
        except ValueError:  # not a state of this table at all
            return False

    def sources(self, target: str) -> tuple[S, ...]:
        """The states from which ``target`` may be reached (for the conditional UPDATE)."""
        return tuple(sorted((s for s, targets in self.moves.items() if self.enum(target) in targets), key=str))

    def final(self) -> tuple[S, ...]:
        return tuple(s for s, targets in self.moves.items() if not targets)

    def require(self, current: str | None, target: str, message: str | None = None,
                error: type[ServiceError] = TransitionRefused) -> None:
        """Refuse a move the table does not have, with ``message`` or a sentence naming both states."""
        if self.allows(current, target):
            return
        if message is None:
            from flask_babel import gettext as _

            from marketplace.core.labels import label

            message = _("This cannot move from “%(current)s” to “%(target)s”.",
                        current=label(current, self.label_group), target=label(target, self.label_group))
        raise error(message)

    def __repr__(self) -> str:
        return f"<Transitions {self.name}: {len(self.moves)} states>"
