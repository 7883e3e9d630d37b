from botcopier.schemas import SchemaCatalogue
from botcopier.streams.topics import TOPICS, topic, topic_for_schema

DESIGN_TOPICS = {
    "trade-events",
    "ea-metrics",
    "market-data",
    "bot-metrics",
    "drift",
    "retrain-requests",
    "retrain-decisions",
    "models",
    "decisions",
    "dead-letter",
}


def test_catalogue_has_the_design_topics_once_each():
    names = [spec.name for spec in TOPICS]
    assert sorted(names) == sorted(DESIGN_TOPICS)


def test_every_value_schema_exists_and_every_schema_has_a_topic():
    catalogue = SchemaCatalogue.default()
    carried = {name for spec in TOPICS for name in spec.value_schemas}
    assert carried == set(catalogue.names())
    for name in catalogue.names():
        assert name in topic_for_schema(name).value_schemas


def test_models_topic_is_compacted_and_others_are_not():
    assert topic("models").config["cleanup.policy"] == "compact"
    assert all(
        spec.config.get("cleanup.policy") != "compact" for spec in TOPICS if spec.name != "models"
    )


def test_bot_keyed_topics_can_scale_out():
    for name in ("trade-events", "ea-metrics", "bot-metrics", "decisions"):
        assert topic(name).key == "account:magic"
        assert topic(name).partitions > 1
