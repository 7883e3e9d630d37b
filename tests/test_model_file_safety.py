"""Model files are data: written 0644 (never executable), read as JSON only (never unpickled).

Models arrive from a Kafka topic anyone with produce rights could write, and land in MT4's
folder: a loader that unpickled or evaluated them would run that writer's code.
"""

from __future__ import annotations

import ast
import os
import pickle  # noqa: S403 - builds a payload the loader must refuse; never loads one
import stat
from pathlib import Path

import pytest

from botcopier.streams.model_files import put_file
from botcopier.trainers.model_document import ModelFormatError, load_model, save_model
from tests.test_backtest import momentum_model

ROOT = Path(__file__).resolve().parent.parent
# Every folder installed as part of the botcopier package.
PACKAGE_DIRS = ("botcopier", "bridge", "streams", "trainers", "codegen", "schemas", "infra")
UNSAFE_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}
UNSAFE_CALLS = {"eval", "exec", "read_pickle", "to_pickle", "__import__"}


@pytest.fixture
def strict_umask():
    old = os.umask(0o077)  # the mode must not depend on the writer's umask
    yield
    os.umask(old)


def test_file_sync_and_save_model_write_0644(tmp_path: Path, strict_umask) -> None:
    model = momentum_model()
    saved = save_model(model, tmp_path / "a.model.json")
    synced = put_file(tmp_path, "b.model.json", saved.read_bytes()).path
    for path in (saved, synced):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o644, (path.name, oct(mode))
        assert not mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_a_model_file_holding_a_pickle_is_refused_unread(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.model.json"
    path.write_bytes(pickle.dumps({"format": "botcopier.model", "payload": Boom()}))
    with pytest.raises(ModelFormatError, match="not JSON"):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


def _sources() -> list[Path]:
    return sorted(p for folder in PACKAGE_DIRS for p in (ROOT / folder).rglob("*.py"))


def test_no_package_module_imports_a_deserializer_that_runs_code() -> None:
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            elif isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in UNSAFE_CALLS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}()")
                if ast.unparse(func) == "yaml.load":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: yaml.load()")
                if ast.unparse(func) in ("np.load", "numpy.load"):
                    keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                    if keywords.get("allow_pickle") != "False":
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: np.load pickles")
                continue
            else:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: import {n}" for n in names
                      if n in UNSAFE_MODULES]  # fmt: skip
    assert len(_sources()) > 50  # the walk found the package
    assert not found, "\n".join(found)
