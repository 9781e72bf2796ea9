"""CSRF protection is on outside the test configuration: a form posted without its token is refused."""
from marketplace import create_app


def test_forms_without_a_csrf_token_are_refused(database_url, tmp_path):
    app = create_app({"CONFIG_NAME": "test", "WTF_CSRF_ENABLED": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite")})
    client = app.test_client()
    for path in ("/login", "/register", "/password/forgot", "/lang/en", "/logout"):
        response = client.post(path, data={"email": "a@example.com", "password": "x"})
        assert response.status_code == 400, path
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
