"""The TCP bridge from MT4 EAs into Kafka (not built yet: issue 3)."""
