"""model.json in, a strategy EA for MT4 out (``botcopier generate``).

`generate` renders ``templates/Strategy.mq4.j2`` for one model or an ensemble and writes an
MT4 data folder's layout under ``out``:

- ``MQL4/Experts/BotCopier_<name>_<version>.mq4``: the EA; the name carries the model
  version, and an existing file of that name is never overwritten with different text;
- ``MQL4/Include/BotCopier/*.mqh``: the shared includes it needs;
- ``MQL4/Files/<name>.model.json``: the model the EA reads (``botcopier filesync`` keeps it
  current), and ``<name>.golden.csv``: cases the EA's ``SelfTest`` input checks its
  evaluator against, with the trainer's probabilities.

Every declared feature is compiled in (with its declared MQL4 expression), so a retrained
model over any of them hot-reloads; a model feature with no MQL4 form is refused here.
The result passes the MQL4 lint and frame-parity checks before anything is written.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from botcopier import __version__
from botcopier.atomic_file import write_atomic
from botcopier.codegen.checks import check_frames, lint_sources
from botcopier.codegen.checks.source import SourceFile, tokenize
from botcopier.codegen.strategy import check_ensemble
from botcopier.exceptions import BotCopierError
from botcopier.trainers.features import DEFAULT_FEATURES, FEATURES, Feature
from botcopier.trainers.model_document import save_model
from botcopier.trainers.model_eval import predict_proba

MQL4_SOURCES = Path(__file__).resolve().parent.parent / "mql4"
GOLDEN_ROWS = 64
_MAX_MAGIC = 2**31 - 1


class GenerateError(BotCopierError):
    """The models cannot become an EA (unknown feature, mixed classes, failed checks)."""


@dataclass(frozen=True)
class Generated:
    expert: Path
    includes: list[Path]
    files: list[Path]


def compiled_features() -> list[Feature]:
    """Every declared feature with an MQL4 form, the default set first."""
    ordered = list(DEFAULT_FEATURES) + [f for f in FEATURES.values() if f not in DEFAULT_FEATURES]
    return [f for f in ordered if f.mql4]


def _check_models(models: Sequence[Mapping[str, Any]]) -> None:
    try:
        check_ensemble(models)
    except ValueError as exc:
        raise GenerateError(str(exc)) from exc
    names = [m["name"] for m in models]
    if len(set(names)) != len(names):
        raise GenerateError(f"an ensemble needs models of different names, got {names}")
    for model in models:
        for feature in model["features"]:
            declared = FEATURES.get(feature["name"])
            if declared is None or not declared.mql4:
                raise GenerateError(
                    f"{model['name']} {model['version']}: feature {feature['name']} has no MQL4 "
                    "form, so no EA can compute it; retrain without it"
                )


def ea_name(models: Sequence[Mapping[str, Any]]) -> str:
    first = models[0]
    suffix = f"_plus{len(models) - 1}" if len(models) > 1 else ""
    return f"BotCopier_{first['name']}_{first['version']}{suffix}".replace(".", "_")


def default_magic(model: Mapping[str, Any]) -> int:
    """The clone's own magic: its bot's plus 1,000,000 (the Observer tells them apart)."""
    magic = (model.get("bot") or {}).get("magic")
    if magic is None or magic + 1_000_000 > _MAX_MAGIC:
        raise GenerateError("say which magic number the EA trades under: --magic N")
    return int(magic) + 1_000_000


def golden_cases(model: Mapping[str, Any], rows: int = GOLDEN_ROWS, seed: int = 0) -> str:
    """CSV of inputs around the training data (scaler mean +- 2 scales) and the trainer's
    probabilities, for the EA's SelfTest."""
    rng = np.random.default_rng(seed)
    mean, scale = np.asarray(model["scaler"]["mean"]), np.asarray(model["scaler"]["scale"])
    x = mean + scale * rng.normal(0.0, 1.0, size=(rows, len(mean)))
    proba = predict_proba(model, x)
    header = [f["name"] for f in model["features"]] + [f"p_{c}" for c in model["classes"]]
    lines = [",".join(header)]
    lines += [",".join(repr(float(v)) for v in [*xr, *pr]) for xr, pr in zip(x, proba, strict=True)]
    return "\n".join(lines) + "\n"


def render(models: Sequence[Mapping[str, Any]], magic: int) -> str:
    features = compiled_features()
    environment = Environment(
        loader=PackageLoader("botcopier.codegen", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - MQL4 source, not HTML
    )
    name = ea_name(models)
    return environment.get_template("Strategy.mq4.j2").render(
        ea_name=name,
        botcopier_version=__version__,
        models=[{**m, "family": m["estimator"]["family"]} for m in models],
        model_files=",".join(f"{m['name']}.model.json" for m in models),
        magic=magic,
        features=features,
        warmup_bars=max(f.warmup for f in features) + 2,
        decision_log=f"botcopier_decisions_{name}.csv",
    )


def _write_new(path: Path, text: str) -> None:
    """Write ``path`` unless it exists: the same text is left alone, other text refused."""
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            raise GenerateError(
                f"{path} exists with other content; generated EAs are never overwritten"
            )
        return
    write_atomic(path, text)


def generate(
    models: Sequence[Mapping[str, Any]], out: Path, *, magic: int | None = None
) -> Generated:
    """Render, check and write the EA for ``models`` (one, or an ensemble) under ``out``."""
    if not models:
        raise GenerateError("no model given")
    _check_models(models)
    magic = default_magic(models[0]) if magic is None else magic
    if not 0 < magic <= _MAX_MAGIC:
        raise GenerateError(f"magic must be 1..{_MAX_MAGIC}, got {magic}")
    source = render(models, magic)
    includes = sorted((MQL4_SOURCES / "Include" / "BotCopier").glob("*.mqh"))
    if not includes:
        raise GenerateError(f"the MQL4 includes are missing from {MQL4_SOURCES}")
    expert = out / "MQL4" / "Experts" / f"{ea_name(models)}.mq4"
    sources = [SourceFile.read(path) for path in includes]
    sources.append(SourceFile(expert, tuple(tokenize(source))))
    findings = lint_sources(sources) + check_frames(sources)
    if findings:
        raise GenerateError(
            "the generated EA fails the MQL4 checks:\n" + "\n".join(map(str, findings))
        )
    _write_new(expert, source)
    copied = []
    for path in includes:
        target = out / "MQL4" / "Include" / "BotCopier" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(target)
    files = []
    for model in models:
        folder = out / "MQL4" / "Files"
        files.append(save_model(model, folder / f"{model['name']}.model.json"))
        files.append(write_atomic(folder / f"{model['name']}.golden.csv", golden_cases(model)))
    return Generated(expert, copied, files)
