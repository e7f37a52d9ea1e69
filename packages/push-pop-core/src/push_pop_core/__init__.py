"""push-pop core."""
