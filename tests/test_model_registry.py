"""`botcopier models list|promote|rollback` on a real broker, and their rules without one."""

from __future__ import annotations

import pytest

from botcopier.streams.model_registry import (
    RegistryError,
    best_version,
    example_record,
    republished,
    rollback_target,
    shipped_stack,
    versions_of,
)
from botcopier.trainers.model_document import parse_model
from tests.shipping import Cli, publish_docs, published, sync_once, trained_clone, variant

NAME = "clone-7-1001"
METRIC = "test_entry_macro_f1"


def test_best_version_prefers_the_newest_of_equal_scores_and_skips_unscored_ones():
    records = [
        example_record("m", "v1", 0.8),
        example_record("m", "v2", 0.8),
        example_record("m", "v3", 0.1),
    ]
    records.append({**example_record("m", "v4", 0.0), "metrics": {}})
    assert best_version(versions_of(records)["m"], METRIC).version == "v2"
    with pytest.raises(RegistryError, match="no version of m has metric 'nope'"):
        best_version(versions_of(records)["m"], "nope")


def test_rollbacks_walk_back_and_a_rollback_after_a_promote_undoes_it():
    v1, v2, v3 = (example_record("m", v, 0.5) for v in ("v1", "v2", "v3"))
    history = [v1, v2, v3]
    assert rollback_target(history) == "v2"
    history.append(republished(v2, "rollback"))
    assert rollback_target(history) == "v1"  # not back to v3, which was rolled back
    history.append(republished(v1, "rollback"))
    assert shipped_stack(history) == ["v1"]
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        rollback_target(history)
    history += [example_record("m", "v4", 0.5), republished(v2, "promote")]
    assert shipped_stack(history) == ["v1", "v4", "v2"]
    assert rollback_target(history) == "v4"


@pytest.fixture
def cli(fresh_settings, monkeypatch, capsys, tmp_path):
    return Cli(fresh_settings, monkeypatch, capsys, tmp_path)


@pytest.fixture
def three_versions(fresh_settings):
    base = trained_clone(NAME)
    docs = [variant(base, i, score) for i, score in enumerate([0.6, 0.9, 0.7])]
    publish_docs(fresh_settings, *docs)
    return docs


@pytest.mark.broker
def test_list_shows_each_version_newest_first_with_scores_time_and_checksum(
    cli, fresh_settings, three_versions
):
    other = trained_clone("clone-7-1002", bot="rsi-reversion")
    publish_docs(fresh_settings, other)
    code, out, _ = cli("models", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{NAME}: 3 versions on the topic, current {three_versions[2]['version']}"
    records = {r["model_version"]: r for r in published(fresh_settings)}
    for line, doc in zip(lines[1:4], reversed(three_versions), strict=True):
        assert doc["version"] in line
        assert f"sha256 {records[doc['version']]['sha256'][:12]}" in line
        assert f"{METRIC}={doc['metrics']['test']['entry_macro_f1']:.4f}" in line
        assert "created 20" in line
    assert lines[1].startswith("  * ") and lines[2].startswith("    ")
    assert lines[4].startswith("clone-7-1002: 1 versions on the topic")


@pytest.mark.broker
def test_promote_republishes_the_best_version_and_filesync_ships_it(
    cli, fresh_settings, three_versions, tmp_path
):
    best = three_versions[1]
    code, out, _ = cli("models", "promote", NAME, "--metric", METRIC)
    assert code == 0
    assert f"promoting {best['version']} ({METRIC}=0.9000)" in out
    records = published(fresh_settings)
    assert len(records) == 4
    original = next(r for r in records if r["model_version"] == best["version"])
    newest = records[-1]
    for field in ("model_name", "model_version", "model_json", "sha256", "metrics"):
        assert newest[field] == original[field]
    assert newest["event_id"] != original["event_id"]
    assert newest["event_time_ms"] >= original["event_time_ms"]

    files = tmp_path / "MQL4" / "Files"
    files.mkdir(parents=True)
    sync_once(fresh_settings, files)
    assert parse_model((files / f"{NAME}.model.json").read_bytes())["version"] == best["version"]

    code, out, _ = cli("models", "promote", NAME, "--metric", METRIC)
    assert code == 0 and "already current; nothing published" in out
    assert len(published(fresh_settings)) == 4


@pytest.mark.broker
def test_promote_all_picks_per_model_and_skips_models_without_the_metric(
    cli, fresh_settings, three_versions
):
    other = trained_clone("clone-7-1002", bot="rsi-reversion")
    publish_docs(fresh_settings, variant(other, 1, 0.95), variant(other, 2, 0.4))
    code, out, _ = cli("models", "promote", "--all", "--metric", METRIC)
    assert code == 0
    assert "2 promoted" in out
    current = {}
    for record in published(fresh_settings):
        current[record["model_name"]] = record
    assert current[NAME]["model_version"] == three_versions[1]["version"]
    assert current["clone-7-1002"]["metrics"][METRIC] == 0.95


@pytest.mark.broker
def test_rollback_ships_the_version_before_and_a_second_one_goes_further_back(
    cli, fresh_settings, three_versions
):
    first, second, third = (d["version"] for d in three_versions)
    code, out, _ = cli("models", "rollback", NAME)
    assert code == 0 and f"rolled back from {third} to {second}" in out
    code, out, _ = cli("models", "rollback", NAME)
    assert code == 0 and f"rolled back from {second} to {first}" in out
    records = published(fresh_settings)
    assert [r["model_version"] for r in records[-2:]] == [second, first]
    assert len({r["event_id"] for r in records}) == 5
    code, _, err = cli("models", "rollback", NAME)
    assert code == 2 and "nothing to roll back to" in err


@pytest.mark.broker
def test_unknown_models_and_metrics_are_refused_clearly(cli, fresh_settings, three_versions):
    code, _, err = cli("models", "promote", "nobody", "--metric", METRIC)
    assert code == 2 and f"no model named 'nobody' on the models topic; known: {NAME}" in err
    code, _, err = cli("models", "promote", NAME, "--metric", "profit")
    assert code == 2 and "has metric 'profit'" in err and METRIC in err
    code, _, err = cli("models", "rollback", "nobody")
    assert code == 2 and "no model named 'nobody'" in err
    assert len(published(fresh_settings)) == 3
