"""Domain events: the CloudEvents envelope, the transactional outbox, and the relay to JetStream."""
