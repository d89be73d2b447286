"""The PromQL behind status.quality: whose series, over which window, which bucket is a short
abandon, and which scores promote or detract. (The figures' arithmetic is worked by hand in
tests/unit/dataplane/test_quality.py; the counters they read are checked against the event log
in tests/integration/test_quality.py.)"""

from __future__ import annotations

import re

from switchboard.api.quality import SHORT_ABANDON_BOUNDS
from switchboard.api.status import QualityStatus
from switchboard.contract import WAIT_BUCKETS
from switchboard.metrics.quality import quality_queries
from tests.factory import contact_center


def test_there_is_a_query_for_every_figure_of_the_status() -> None:
    assert set(quality_queries(contact_center())) == set(QualityStatus.model_fields)


def test_every_figure_reads_this_contact_center_s_series_over_the_handle_time_window() -> None:
    cc = contact_center(
        {"spec.metrics": {"handleTimeWindow": "2h"}}, name="acme", namespace="support"
    )
    for name, promql in quality_queries(cc).items():
        matchers = promql.count("{")
        assert matchers > 0, name
        assert promql.count('contact_center="acme"') == matchers, name
        assert promql.count('namespace=~"support|"') == matchers, name
        assert set(re.findall(r"\[(\w+)\]", promql)) == {"7200s"}, name


def test_short_abandons_are_the_abandon_wait_bucket_of_the_spec_s_bound() -> None:
    default = quality_queries(contact_center())["service_level_without_short_abandons"]
    assert "switchboard_abandon_wait_seconds_bucket{" in default
    assert 'handler="bot",le="5.0"' in default
    cc = contact_center({"spec.quality": {"shortAbandonSeconds": 10}})
    assert 'le="10.0"' in quality_queries(cc)["service_level_without_short_abandons"]


def test_scores_that_count_are_picked_by_survey_and_value() -> None:
    queries = quality_queries(contact_center())
    assert 'survey="nps",score=~"9|10"' in queries["nps"]
    assert 'survey="nps",score=~"[0-6]"' in queries["nps"]
    assert 'survey="csat",score=~"4|5"' in queries["csat_satisfied"]
    # The mean weighs each of the five answers by its value.
    for score in range(1, 6):
        assert f"{score} * (sum(increase(switchboard_survey_responses_total{{" in queries["csat"]
        assert f'survey="csat",score="{score}"' in queries["csat"]


def test_a_count_with_no_series_yet_is_zero_not_missing_data() -> None:
    queries = quality_queries(contact_center())
    assert "switchboard_repeat_contacts_total" in queries["first_contact_resolution"]
    repeats = queries["first_contact_resolution"].split(" / ")[0]
    assert repeats.endswith("or vector(0))")


def test_every_short_abandon_bound_the_spec_allows_is_a_bucket_of_the_contract() -> None:
    assert set(SHORT_ABANDON_BOUNDS) <= set(WAIT_BUCKETS)
