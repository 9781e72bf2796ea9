"""The OpenAPI document names exactly the routes the app serves, and is itself valid."""
import re

from marketplace.api.openapi import document

METHODS = {"get", "post", "patch", "put", "delete"}


def _routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def _documented(doc) -> set[tuple[str, str]]:
    return {(method, path) for path, item in doc["paths"].items() for method in item if method in METHODS}


def test_every_api_route_is_documented_and_every_documented_route_exists(app, client):
    doc = client.get("/api/v1/openapi.json").json  # public: no token
    assert doc["openapi"].startswith("3.1")
    routes = _routes(app)
    assert len(routes) == 35  # 22, six for shared instruments (issue 20), the vouchers' 7 (issue 17)
    assert _documented(doc) == routes


def test_each_operation_documents_its_parameters_security_and_errors(app):
    doc = document()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearer"]["description"]}
    assert doc["security"] == [{"bearer": []}]
    ids = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ids.add(op["operationId"])
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            if op["operationId"] == "openapi":
                assert op["security"] == []
                continue
            assert "401" in op["responses"], (method, path)
            success = [code for code in op["responses"] if code.startswith("2")]
            assert len(success) == 1 and "application/json" in op["responses"][success[0]]["content"]
            if method in ("post", "patch") and "requestBody" in op:
                schema_ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert schema_ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    assert len(ids) == 35  # unique operation ids


def test_the_document_is_a_valid_openapi_3_1_schema(app):
    import schemathesis

    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]  # raises on an invalid operation
    assert len(operations) == 35  # 22, the instruments' 6 and the vouchers' 7
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', __import__("json").dumps(document())))
    components = document()["components"]
    assert all(name in components[group] for group, name in refs)
