"""Notifications: turn domain events into e-mails and texts, queued once and sent with retries."""
