"""ModelFile.mqh in Python, line for line: how the generated EA reads and evaluates a model.

The EA cannot run here, so its model reader is mirrored: the same recursive JSON walk with
the same path hooks filling the same flat arrays, the same checks with the same messages,
and the same evaluation (softmax of linear scores, or of tree leaves summed per class).
Tests hold this mirror to the trainer's reference evaluator (``trainers/model_eval.py``) on
every family, so a difference between what the trainer scored and what the EA reads shows
up as a failing test. Keep both files in step: a change to one is a change to the other.

Examples
--------
>>> import json
>>> from botcopier.trainers.model_eval import predict_proba
>>> doc = {"format": "botcopier.model", "format_version": 1, "classes": ["none", "buy"],
...        "features": [{"name": "rsi_14"}], "scaler": {"mean": [50.0], "scale": [10.0]},
...        "estimator": {"family": "linear", "coefficients": [[0.0], [-2.0]],
...                      "intercepts": [0.0, -3.0]}, "thresholds": {"buy": 0.6}}
>>> model = parse_model_text(json.dumps(doc), ["ret_1", "rsi_14"])
>>> model.slots, model.thresholds
([1], [0.0, 0.6])
>>> x = np.array([25.0])
>>> bool(np.allclose(model_proba(model, x), predict_proba(doc, x[None, :])[0]))
True
>>> parse_model_text(json.dumps(doc)[:-9], ["rsi_14"]).error
'not valid JSON (a truncated or corrupt file?)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MAX_DEPTH = 256
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
_TREES = "/estimator/dump/tree_info/#/tree_structure"
_WHITESPACE = " \t\r\n"


@dataclass
class MirroredModel:
    """BcModel's fields."""

    name: str = ""
    version: str = ""
    family: str = ""
    error: str = ""
    format_version: int = 0
    num_class: int = 0
    classes: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    coef: list[float] = field(default_factory=list)
    intercepts: list[float] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)
    tree_root: list[int] = field(default_factory=list)
    node_feature: list[int] = field(default_factory=list)
    node_threshold: list[float] = field(default_factory=list)
    node_default_left: list[bool] = field(default_factory=list)
    node_missing: list[int] = field(default_factory=list)
    node_left: list[int] = field(default_factory=list)
    node_right: list[int] = field(default_factory=list)
    node_value: list[float] = field(default_factory=list)
    stack: list[int] = field(default_factory=list)
    depth: int = 0
    max_tickets: int = 1
    break_even_distance: float = 0.0
    trailing_distance: float = 0.0
    has_sl: bool = False
    has_tp: bool = False
    sl_intercept: float = 0.0
    tp_intercept: float = 0.0
    sl_coef: list[float] = field(default_factory=list)
    tp_coef: list[float] = field(default_factory=list)
    parity_symbols: list[str] = field(default_factory=list)
    parity_weights: list[float] = field(default_factory=list)
    pending_thresholds: list[tuple[str, float]] = field(default_factory=list)


def _to_double(text: str) -> float:
    # StringToDouble reads the longest number prefix and gives 0 for none; valid JSON
    # numbers are read whole, which float() does.
    try:
        return float(text)
    except ValueError:
        return 0.0


def _new_node(m: MirroredModel) -> int:
    m.node_feature.append(-1)
    m.node_threshold.append(0.0)
    m.node_default_left.append(True)
    m.node_missing.append(MISSING_NONE)
    m.node_left.append(-1)
    m.node_right.append(-1)
    m.node_value.append(0.0)
    return len(m.node_value) - 1


def _is_node_path(path: str) -> bool:
    """BcIsNodePath: the tree's root followed only by left_child / right_child steps."""
    if not path.startswith(_TREES):
        return False
    rest = path[len(_TREES) :]
    while rest:
        if rest.startswith("/left_child"):
            rest = rest[11:]
        elif rest.startswith("/right_child"):
            rest = rest[12:]
        else:
            return False
    return True


def _object_start(m: MirroredModel, path: str, key: str) -> None:
    if not _is_node_path(path):
        return
    if key == "tree_structure":
        root = _new_node(m)
        m.tree_root.append(root)
        m.stack.append(root)
    elif key in ("left_child", "right_child"):
        parent, child = m.stack[-1], _new_node(m)
        (m.node_left if key == "left_child" else m.node_right)[parent] = child
        m.stack.append(child)


def _object_end(m: MirroredModel, path: str, key: str) -> None:
    if _is_node_path(path) and key in ("tree_structure", "left_child", "right_child"):
        m.stack.pop()


_LISTS = {
    "/classes/#": ("classes", str),
    "/features/#/name": ("features", str),
    "/scaler/mean/#": ("mean", _to_double),
    "/scaler/scale/#": ("scale", _to_double),
    "/estimator/coefficients/#/#": ("coef", _to_double),
    "/estimator/intercepts/#": ("intercepts", _to_double),
    "/stops/sl_distance/coefficients/#": ("sl_coef", _to_double),
    "/stops/tp_distance/coefficients/#": ("tp_coef", _to_double),
    "/risk_parity/symbols/#": ("parity_symbols", str),
    "/risk_parity/weights/#": ("parity_weights", _to_double),
}


def _value(m: MirroredModel, path: str, key: str, text: str) -> None:
    if path.startswith(_TREES):
        if not _is_node_path(path[: len(path) - len(key) - 1]):
            return
        node = m.stack[-1]
        if key == "split_feature":
            m.node_feature[node] = int(_to_double(text))
        elif key == "threshold":
            m.node_threshold[node] = _to_double(text)
        elif key == "default_left":
            m.node_default_left[node] = text == "true"
        elif key == "missing_type":
            m.node_missing[node] = {"NaN": MISSING_NAN, "Zero": MISSING_ZERO}.get(text, 0)
        elif key == "leaf_value":
            m.node_value[node] = _to_double(text)
        elif key == "decision_type" and text != "<=":
            m.error = f"unsupported tree split {text}"
        return
    if path == "/format":
        if text != "botcopier.model":
            m.error = f"not a botcopier model (format {text})"
    elif path == "/format_version":
        m.format_version = int(_to_double(text))
    elif path in ("/name", "/version", "/estimator/family"):
        setattr(m, {"/estimator/family": "family"}.get(path, path[1:]), text)
    elif path == "/estimator/num_class":
        m.num_class = int(_to_double(text))
    elif path in _LISTS:
        name, convert = _LISTS[path]
        getattr(m, name).append(convert(text))
    elif path == f"/thresholds/{key}":
        m.pending_thresholds.append((key, _to_double(text)))
    elif path == "/max_tickets":
        m.max_tickets = int(_to_double(text))
    elif path in ("/management/break_even_distance", "/management/trailing_distance"):
        setattr(m, path.split("/")[2], _to_double(text))
    elif path in ("/stops/sl_distance/intercept", "/stops/tp_distance/intercept"):
        side = path.split("/")[2][:2]
        setattr(m, f"has_{side}", True)
        setattr(m, f"{side}_intercept", _to_double(text))


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WHITESPACE:
        i += 1
    return i


def _parse_string(s: str, i: int) -> tuple[int, str]:
    """ReplyParseString: (index after the closing quote, or -1; the unescaped text)."""
    if i >= len(s) or s[i] != '"':
        return -1, ""
    out, i = [], i + 1
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
    while i < len(s):
        c = s[i]
        if c == '"':
            return i + 1, "".join(out)
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(s):
            return -1, ""
        e = s[i + 1]
        if e == "u":
            if i + 5 >= len(s):
                return -1, ""
            digits = s[i + 2 : i + 6]
            out.append(chr(sum(int(d, 16) * 16 ** (3 - k) for k, d in enumerate(digits))))
            i += 6
        else:
            out.append(escapes.get(e, e))
            i += 2
    return -1, ""


def _walk(m: MirroredModel, s: str, i: int, path: str, key: str) -> int:
    if m.depth > MAX_DEPTH:
        return -1
    i = _skip_ws(s, i)
    if i >= len(s):
        return -1
    c = s[i]
    if c in "{[":
        m.depth += 1
        closing = "}" if c == "{" else "]"
        if c == "{":
            _object_start(m, path, key)
        i = _skip_ws(s, i + 1)
        index = 0
        if i < len(s) and s[i] == closing:
            i += 1
        else:
            while True:
                if c == "{":
                    i, member = _parse_string(s, _skip_ws(s, i))
                    if i < 0:
                        return -1
                    i = _skip_ws(s, i)
                    if i >= len(s) or s[i] != ":":
                        return -1
                    i = _walk(m, s, i + 1, f"{path}/{member}", member)
                else:
                    i = _walk(m, s, i, f"{path}/#", str(index))
                    index += 1
                if i < 0:
                    return -1
                i = _skip_ws(s, i)
                if i >= len(s):
                    return -1
                separator = s[i]
                i += 1
                if separator == closing:
                    break
                if separator != ",":
                    return -1
        if c == "{":
            _object_end(m, path, key)
        m.depth -= 1
        return i
    if c == '"':
        i, text = _parse_string(s, i)
        if i < 0:
            return -1
        _value(m, path, key, text)
        return i
    start = i
    while i < len(s) and s[i] not in ",}] \t\r\n":
        i += 1
    if i == start:
        return -1
    _value(m, path, key, s[start:i])
    return i


def _check(m: MirroredModel, ea_features: list[str]) -> str:
    """BcModelCheck: the reason the model is unusable, or ""."""
    if m.error:
        return m.error
    if m.format_version != 1:
        return f"format_version {m.format_version} is not 1"
    nc, nf = len(m.classes), len(m.features)
    if nc < 2 or m.classes[0] != "none":
        return "classes must start with none and hold an action"
    if len(m.mean) != nf or len(m.scale) != nf:
        return "the scaler does not match the features"
    m.slots = []
    for f in range(nf):
        m.slots.append(ea_features.index(m.features[f]) if m.features[f] in ea_features else -1)
        if m.slots[f] < 0:
            return f"feature {m.features[f]} is not compiled into this EA: generate it again"
        if m.scale[f] == 0.0:
            return f"feature {m.features[f]} has scale 0"
    m.thresholds = [0.0] + [0.5] * (nc - 1)
    for label, value in m.pending_thresholds:
        k = m.classes.index(label) if label in m.classes else -1
        if k <= 0:
            return f"a threshold for class {label} the model lacks"
        m.thresholds[k] = value
    if (m.has_sl and len(m.sl_coef) != nf) or (m.has_tp and len(m.tp_coef) != nf):
        return "a stop regressor does not match the features"
    if m.max_tickets < 1:
        return "max_tickets must be at least 1"
    if m.family == "linear":
        if len(m.coef) != nc * nf or len(m.intercepts) != nc:
            return "linear coefficients do not match the classes and features"
        return ""
    if m.family not in ("lightgbm", "xgboost", "catboost"):
        return f"unknown estimator family {m.family}"
    if m.num_class != nc:
        return "num_class does not match the classes"
    if not m.intercepts:
        m.intercepts = [0.0] * nc
    if len(m.intercepts) != nc:
        return "tree intercepts do not match the classes"
    if not m.tree_root or len(m.tree_root) % nc:
        return "the tree count is not a multiple of the class count"
    for node in range(len(m.node_left)):
        if m.node_left[node] < 0 and m.node_right[node] < 0:
            continue
        if m.node_left[node] < 0 or m.node_right[node] < 0:
            return "a tree node lacks a child"
        if not 0 <= m.node_feature[node] < nf:
            return "a tree splits on a feature the model lacks"
    return ""


def parse_model_text(text: str, ea_features: list[str]) -> MirroredModel:
    """BcModelParse: the model read from ``text``; its ``error`` says why it is unusable."""
    m = MirroredModel()
    end = _walk(m, text, 0, "", "")
    if end < 0 or _skip_ws(text, end) != len(text):
        m.error = "not valid JSON (a truncated or corrupt file?)"
        return m
    m.error = _check(m, ea_features)
    return m


def _leaf_value(m: MirroredModel, node: int, x: np.ndarray) -> float:
    while m.node_left[node] >= 0:
        v = float(x[m.node_feature[node]])
        is_nan = not math.isfinite(v)
        missing = False
        if m.node_missing[node] == MISSING_NAN:
            missing = is_nan
        else:
            if is_nan:
                v = 0.0
            if m.node_missing[node] == MISSING_ZERO:
                missing = abs(v) <= 1e-35
        left = m.node_default_left[node] if missing else v <= m.node_threshold[node]
        node = m.node_left[node] if left else m.node_right[node]
    return m.node_value[node]


def model_proba(m: MirroredModel, x: np.ndarray) -> np.ndarray:
    """BcModelProba: class probabilities of one row (the model's features, raw values)."""
    nc, nf = len(m.classes), len(m.features)
    raw = [0.0] * nc
    if m.family == "linear":
        for k in range(nc):
            raw[k] = m.intercepts[k]
            for f in range(nf):
                raw[k] += m.coef[k * nf + f] * ((x[f] - m.mean[f]) / m.scale[f])
    else:
        raw = list(m.intercepts)
        for t, root in enumerate(m.tree_root):
            raw[t % nc] += _leaf_value(m, root, x)
    top = max(raw)
    exps = [math.exp(r - top) for r in raw]
    total = sum(exps)
    return np.array([e / total for e in exps])


def stop_distance(m: MirroredModel, stop_loss: bool, x: np.ndarray) -> float:
    """BcStopDistance: a stop regressor's distance on the scaled features, at least 0."""
    value = m.sl_intercept if stop_loss else m.tp_intercept
    coef = m.sl_coef if stop_loss else m.tp_coef
    for f in range(len(m.features)):
        value += coef[f] * ((x[f] - m.mean[f]) / m.scale[f])
    return max(value, 0.0)


def risk_weight(m: MirroredModel, symbol: str) -> float:
    """BcRiskWeight."""
    if symbol not in m.parity_symbols or len(m.parity_weights) != len(m.parity_symbols):
        return 1.0
    return m.parity_weights[m.parity_symbols.index(symbol)] * len(m.parity_symbols)
