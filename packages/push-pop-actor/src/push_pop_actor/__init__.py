"""push-pop actor."""
