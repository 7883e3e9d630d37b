"""Names shared by the services that must agree on them.

A clone's model name says which bot it copies; it is the key on the models topic and the
stem of its files in MT4's Files folder, so it keeps to characters every file system takes
(no ``:``, which Windows refuses).

>>> clone_model_name(900001, 1002)
'clone-900001-1002'
"""

from __future__ import annotations


def clone_model_name(account: int | None, magic: int | None) -> str:
    return f"clone-{account if account is not None else 'x'}-{magic if magic is not None else 'x'}"
