from typing import Any

from switchboard.resources.drift import difference, merge_patch, quantity_amount


def holds(live: Any, desired: Any) -> bool:
    return difference(live, desired) is None


def test_live_object_with_server_defaults_holds_the_desired_one() -> None:
    desired = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "bot"}]}}}}
    live = {
        "metadata": {"resourceVersion": "7", "managedFields": []},
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 10,
            "template": {
                "spec": {"containers": [{"name": "bot", "terminationMessagePath": "/dev/x"}]}
            },
        },
    }
    assert holds(live, desired)


def test_a_changed_or_missing_field_is_drift() -> None:
    desired = {"spec": {"replicas": 2, "paused": False}}
    assert not holds({"spec": {"replicas": 3, "paused": False}}, desired)
    assert not holds({"spec": {"replicas": 2}}, desired)
    assert not holds(None, desired)


def test_lists_must_match_in_length_and_order() -> None:
    desired = {"ports": [{"port": 80}, {"port": 443}]}
    assert not holds({"ports": [{"port": 80}]}, desired)
    assert not holds({"ports": [{"port": 443}, {"port": 80}]}, desired)
    assert not holds({"ports": [{"port": 80}, {"port": 443}, {"port": 8080}]}, desired)


def test_quantities_compare_by_amount_as_the_apiserver_normalises_them() -> None:
    assert holds({"cpu": "1"}, {"cpu": "1000m"})
    assert holds({"memory": "1Gi"}, {"memory": "1024Mi"})
    assert holds({"storage": "2Gi"}, {"storage": "2Gi"})
    assert not holds({"memory": "1G"}, {"memory": "1Gi"})  # 10^9 is not 2^30
    assert holds({"replicas": 2}, {"replicas": "2"})  # int-or-string fields


def test_booleans_are_not_numbers() -> None:
    assert not holds({"readOnly": 1}, {"readOnly": True})
    assert not holds({"readOnly": False}, {"readOnly": 0})


def test_empty_desired_values_match_absent_live_fields() -> None:
    assert holds({"spec": {}}, {"spec": {"tolerations": [], "nodeSelector": {}}})


def test_quantity_amount_knows_binary_and_decimal_suffixes() -> None:
    assert quantity_amount("500m") == quantity_amount("0.5")
    assert quantity_amount("1Ki") == 1024
    assert quantity_amount("1e3") == 1000
    assert quantity_amount("web") is None


def test_difference_names_the_first_drifted_field() -> None:
    desired = {"spec": {"template": {"spec": {"containers": [{"image": "bot:2"}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [{"image": "bot:1"}]}}}}
    assert difference(live, desired) == "spec.template.spec.containers[0].image"
    assert difference(desired, desired) is None


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386's reference algorithm, written from the RFC, to check our patches against."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def test_merge_patch_removes_nested_keys_that_went_away() -> None:
    current = {"components": {"bot": {"ready": 0, "message": "0/1 ready"}}, "channels": 1}
    desired = {"components": {"bot": {"ready": 1}}, "channels": 1}
    patch = merge_patch(current, desired)
    assert patch == {"components": {"bot": {"ready": 1, "message": None}}}
    assert apply_merge_patch(current, patch) == desired


def test_merge_patch_of_equal_documents_is_empty() -> None:
    document = {"a": {"b": [1, 2]}, "c": "d"}
    assert merge_patch(document, document) == {}


def test_merge_patch_replaces_lists_whole() -> None:
    current = {"conditions": [{"type": "Ready", "status": "False"}]}
    desired = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert apply_merge_patch(current, merge_patch(current, desired)) == desired
