"""Kafka topics and the streaming agents that work on them.

For now: the topic catalogue (`botcopier.streams.topics`) and idempotent topic creation
(`botcopier.streams.admin`).
"""
