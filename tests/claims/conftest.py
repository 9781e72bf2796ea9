import pytest


@pytest.fixture(autouse=True)
def private_upload_dir(app, tmp_path):
    """Each test gets its own upload directory, so it can check exactly what was written."""
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield
    app.config["UPLOAD_DIR"] = previous
