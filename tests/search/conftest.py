"""Backends under test: the embedded one always; Elasticsearch through the session
fixture ``elasticsearch_url`` (skipped locally without ELASTICSEARCH_URL, a failure under
CI=true). Every Elasticsearch index made here is named ``test-search-<run>-<n>`` and is
deleted afterwards."""
from __future__ import annotations

import itertools
import os
import uuid

import pytest

from search.elastic import ElasticsearchBackend
from search.fts5 import EmbeddedBackend

from .corpus import corpus

BACKENDS = ["embedded", "elasticsearch"]
RUN = f"test-search-{os.getpid()}-{uuid.uuid4().hex[:8]}"
_numbers = itertools.count(1)


def _open(kind: str, request, tmp_path_factory):
    if kind == "embedded":
        return EmbeddedBackend(tmp_path_factory.mktemp("search") / "search.sqlite3")
    url = request.getfixturevalue("elasticsearch_url")
    return ElasticsearchBackend(url=url, index=f"{RUN}-{next(_numbers)}")


@pytest.fixture(scope="session")
def _es_cleanup(request):
    """After the run, delete any index of this run that a test left behind."""
    yield
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        from elasticsearch import Elasticsearch

        with Elasticsearch(url) as es:
            for name in es.indices.get(index=f"{RUN}-*", expand_wildcards="all").body:
                es.indices.delete(index=name, ignore_unavailable=True)


@pytest.fixture(params=BACKENDS)
def make_backend(request, tmp_path_factory, _es_cleanup):
    """A factory of fresh, empty backends of one kind (dropped after the test)."""
    made = []

    def make():
        b = _open(request.param, request, tmp_path_factory)
        b.ensure_index()
        made.append(b)
        return b

    yield make
    for b in made:
        b.drop()
        b.close()


@pytest.fixture
def backend(make_backend):
    """A fresh, empty backend."""
    return make_backend()


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory, _es_cleanup):
    """A backend holding the fixed corpus; tests using it must not write to it."""
    b = _open(request.param, request, tmp_path_factory)
    b.ensure_index()
    b.reindex(corpus())
    yield b
    b.drop()
    b.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory, request, _es_cleanup):
    """(embedded, elasticsearch), both holding the fixed corpus."""
    emb = _open("embedded", request, tmp_path_factory)
    es = _open("elasticsearch", request, tmp_path_factory)
    for b in (emb, es):
        b.ensure_index()
        b.reindex(corpus())
    yield emb, es
    for b in (emb, es):
        b.drop()
        b.close()
