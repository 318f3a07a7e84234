"""The autoresearch loop: propose an agent config, screen it, confirm it, keep it only if it truly
beats the running best, and learn from the log."""
