"""push-pop server."""
