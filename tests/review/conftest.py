import pytest


@pytest.fixture(autouse=True)
def private_upload_dir(app, tmp_path):
    """Each test gets its own upload directory, so it can check exactly what was written."""
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield
    app.config["UPLOAD_DIR"] = previous


@pytest.fixture()
def english(app_ctx):
    """A request context in English, for the words of refusals (``usefixtures("english")``)."""
    from flask_babel import force_locale

    with app_ctx.test_request_context(), force_locale("en"):
        yield
