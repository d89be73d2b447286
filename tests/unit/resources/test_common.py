import pytest

from switchboard.api.bot import Bot
from switchboard.api.common import Resources
from switchboard.resources.common import (
    WIRING,
    ResourceDefaults,
    desired_replicas,
    object_meta,
    resource_requirements,
)
from tests.factory import contact_center

DEFAULTS = ResourceDefaults("100m", "128Mi", "1", "512Mi")
MODEL = {"name": "m", "version": "1.0.0", "uri": "https://models.example/m/1.0.0"}


def test_defaults_apply_when_nothing_is_overridden() -> None:
    assert resource_requirements(DEFAULTS, None) == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }


def test_an_override_replaces_only_its_value() -> None:
    override = Resources.model_validate({"requests": {"memory": "256Mi"}, "limits": {"cpu": 2}})
    assert resource_requirements(DEFAULTS, override) == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "512Mi"},
    }


def test_a_default_limit_rises_to_a_larger_request() -> None:
    override = Resources.model_validate({"requests": {"cpu": "4", "memory": "2Gi"}})
    limits = resource_requirements(DEFAULTS, override)["limits"]
    assert limits == {"cpu": "4", "memory": "2Gi"}


def test_a_default_request_falls_to_a_smaller_limit() -> None:
    override = Resources.model_validate({"limits": {"cpu": "50m", "memory": "64Mi"}})
    assert resource_requirements(DEFAULTS, override)["requests"] == {"cpu": "50m", "memory": "64Mi"}


def test_a_request_above_its_limit_is_refused_at_the_schema() -> None:
    with pytest.raises(ValueError, match=r"resources\.requests\.cpu must not exceed"):
        Resources.model_validate({"requests": {"cpu": "4"}, "limits": {"cpu": 2}})


@pytest.mark.parametrize(("decided", "expected"), [(None, 2), (1, 2), (5, 5), (50, 10)])
def test_autoscaled_replicas_stay_within_min_and_max(decided: int | None, expected: int) -> None:
    bot = Bot.model_validate(
        {"model": MODEL, "replicas": 7, "autoscaling": {"minReplicas": 2, "maxReplicas": 10}}
    )
    assert desired_replicas(bot, decided) == expected


def test_without_autoscaling_the_spec_decides() -> None:
    bot = Bot.model_validate({"model": MODEL, "replicas": 3})
    assert desired_replicas(bot, 9) == 3


def test_no_owner_reference_without_a_uid() -> None:
    cc = contact_center(uid=None)
    assert "ownerReferences" not in object_meta(cc, "x", WIRING)
