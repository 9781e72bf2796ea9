"""The search domain: what the platform indexes (indexing.py, fed through the outbox) and the
/search pages (views.py). The backends themselves live in the top-level ``search`` package."""
