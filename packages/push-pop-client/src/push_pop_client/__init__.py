"""push-pop client."""
