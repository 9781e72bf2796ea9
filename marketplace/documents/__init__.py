"""Printable documents (PDF, in Chinese): a payment receipt, a technology-contract summary and
a claim's decision notice, rendered from HTML by WeasyPrint with Debian's Noto CJK fonts."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.documents import views

    app.register_blueprint(views.bp)
