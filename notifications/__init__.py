"""Notification workers: turn domain events into e-mails (and, later, texts) exactly once."""
