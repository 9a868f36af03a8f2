"""The JSON API (/api/v1), described by OpenAPI 3.1 at /api/openapi.json: for other systems, with scoped tokens."""
