import pytest


@pytest.fixture()
def fresh_index(app_ctx):
    """The search index holds this test's published listings only (the index file outlives
    the per-test table cleanup, so earlier tests' documents would otherwise show up)."""
    from marketplace.search.indexing import reindex

    reindex()
