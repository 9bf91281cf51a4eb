"""Kafka into the raw zone: the consumer-group member and the stream loop (consume, load, build)."""
