"""The resident-facing website and JSON API: Litestar handlers that parse input, call booking/ and render."""
