"""Machinery of the fault suite (`pytest -m faults`): scripted EA traffic, a link-cutting
TCP proxy, the delivery checker and the report lines.

The scenarios themselves are ``tests/test_faults_*.py``.
"""
