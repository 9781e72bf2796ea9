"""HTML to PDF. The documents' templates are ordinary Jinja pages; WeasyPrint lays them out on A4
with the CJK font the deployment installs (``fonts-noto-cjk``: Noto Sans CJK SC)."""
from __future__ import annotations

from flask import render_template

FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Noto Serif CJK SC", sans-serif'


def pdf(template: str, **context) -> bytes:
    from weasyprint import HTML  # imported here: cairo and pango load only when a document is asked for

    html = render_template(template, font_family=FONT_FAMILY, **context)
    return HTML(string=html).write_pdf()
