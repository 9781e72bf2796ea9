"""The JSON API (/api/v1) for programs acting as a user, with bearer tokens and an OpenAPI document."""
