"""The PromQL the operator sends: whose series it reads, per workload and window, and that a
ContactCenter's overrides replace it. (That the queries run and give the right numbers against
a real Prometheus scraping the simulator: tests/integration/test_prometheus.py.)"""

from __future__ import annotations

import math

import pytest

from switchboard.api.sla import MetricQueries
from switchboard.contract import HANDLERS
from switchboard.metrics.queries import (
    ArrivalHistory,
    Target,
    arrival_rate_query,
    arrivals_per_slot_query,
    escape_label_value,
    escape_regex,
    handle_time_query,
    selector,
    skill_group_shares,
    window,
    workload_queries,
)
from switchboard.sizing.workloads import Workload, interval_elapsed_seconds
from tests.factory import contact_center


def test_series_are_this_contact_center_s_in_its_namespace_or_without_one() -> None:
    queries = workload_queries(contact_center(name="acme", namespace="support"), "bot")
    for promql in (queries.arrival_rate, queries.aht, queries.backlog, queries.service_level):
        matchers = promql.count("{")
        assert promql.count('contact_center="acme"') == matchers
        assert promql.count('namespace=~"support|"') == matchers


def test_label_values_are_escaped_inside_promql_strings() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    matchers = selector('we"ird\\name', "team.a")
    assert 'contact_center="we\\"ird\\\\name"' in matchers
    # The namespace is a regular expression: its dot is literal (escaped, then the backslash
    # escaped again for the string).
    assert 'namespace=~"team\\\\.a|"' in matchers


@pytest.mark.parametrize("text", ["a.b", "x|y", "(a)+[b]*", "^a$", "a\\b", "{1}?"])
def test_escaped_regexes_match_only_the_text_itself(text: str) -> None:
    import re  # Python's syntax agrees with RE2 on escaped punctuation

    pattern = re.compile(f"(?:{escape_regex(text)}|)")
    assert pattern.fullmatch(text)
    assert pattern.fullmatch("")
    assert not pattern.fullmatch(text + "x")
    assert not pattern.fullmatch("zz")


def test_bot_arrivals_are_all_offered_contacts_agents_every_handoff() -> None:
    cc = contact_center()
    bot = workload_queries(cc, "bot")
    agents = workload_queries(cc, "agents")
    assert "switchboard_contacts_arrived_total{" in bot.arrival_rate
    assert "outcome" not in bot.arrival_rate
    # Escalated and failed conversations both reach the agents: every handoff, any reason.
    handoffs, no_handoff_yet = agents.arrival_rate.split(" or ")
    assert handoffs.startswith("sum(rate(switchboard_bot_handoffs_total{")
    assert "reason" not in handoffs and "outcome" not in agents.arrival_rate
    assert no_handoff_yet.startswith("(sum(rate(switchboard_bot_conversations_total{")
    assert no_handoff_yet.endswith(" * 0)")
    assert "switchboard_contacts_arrived_total" not in agents.arrival_rate


def test_handle_time_is_the_workload_s_handler_mean() -> None:
    cc = contact_center()
    handlers: list[tuple[Workload, str]] = [("bot", "bot"), ("agents", "agent")]
    for workload, handler in handlers:
        promql = workload_queries(cc, workload).aht
        numerator, denominator = promql.split(" / ")
        assert "switchboard_handle_time_seconds_sum{" in numerator
        assert "switchboard_handle_time_seconds_count{" in denominator
        assert f'handler="{handler}"' in numerator
        assert f'handler="{handler}"' in denominator


def test_skill_groups_are_asked_for_the_agents_only_where_routing_declares_queues() -> None:
    routed = contact_center(
        {"spec.routing": {"queues": [{"name": "billing"}, {"name": "vip", "priority": 1}]}}
    )
    assert workload_queries(contact_center(), "agents").skill_groups is None
    assert workload_queries(routed, "bot").skill_groups is None
    queries = workload_queries(routed, "agents", aht_window_seconds=3600)
    assert queries.skill_groups is not None
    finished, seconds = queries.skill_groups
    for promql, series in ((finished, "_count"), (seconds, "_sum")):
        assert promql.startswith("sum by (queue) (increase(")
        assert f"switchboard_routing_queue_handle_time_seconds{series}{{" in promql
        assert promql.endswith("[3600s]))")


def test_a_skill_group_s_share_and_handle_time_are_its_part_of_the_finished_contacts() -> None:
    # 30 billing contacts of 120 s, 10 roaming of 300 s; the default queue finished none.
    shares = skill_group_shares(
        {"billing": 30.0, "roaming": 10.0, "": 0.0},
        {"billing": 3600.0, "roaming": 3000.0, "": 0.0},
    )
    assert [(g.name, g.share, g.aht_seconds) for g in shares] == [
        ("billing", 0.75, 120.0),
        ("roaming", 0.25, 300.0),
    ]
    assert skill_group_shares({}, {}) == ()


def test_ratios_are_the_tier_s_over_what_the_tier_was_offered() -> None:
    cc = contact_center()
    cases: list[tuple[Workload, str, str]] = [
        ("bot", "bot", "switchboard_contacts_arrived_total{"),
        ("agents", "agent", "switchboard_bot_handoffs_total{"),
    ]
    for workload, handler, offered_metric in cases:
        queries = workload_queries(cc, workload)
        within, offered = queries.service_level.split(" / ")
        assert 'within_sla="true"' in within and f'handler="{handler}"' in within
        assert within.endswith("or vector(0))")
        assert offered.startswith(f"(sum(rate({offered_metric}")
        abandoned, offered = queries.abandon_rate.split(" / ")
        assert "switchboard_contacts_abandoned_total" in abandoned
        assert f'handler="{handler}"' in abandoned
        assert offered.startswith(f"(sum(rate({offered_metric}")


def test_backlog_is_the_tier_s_offered_minus_answered_minus_abandoned_over_the_last_hour() -> None:
    cc = contact_center()
    bot = workload_queries(cc, "bot").backlog
    assert bot.startswith("clamp_min((sum((max_over_time(switchboard_contacts_arrived_total{")
    assert " - (sum((max_over_time(switchboard_contacts_answered_total{" in bot
    assert " - (sum((max_over_time(switchboard_contacts_abandoned_total{" in bot
    assert bot.count('handler="bot"') == 6  # answered and abandoned, three times each
    agents = workload_queries(cc, "agents").backlog
    assert agents.startswith("clamp_min((sum((max_over_time(switchboard_bot_handoffs_total{")
    assert agents.count('handler="agent"') == 6
    # Growth over a window, never the counters' totals: a total summed over the pods that
    # exist now loses a deleted pod's answers and leaves its contacts waiting forever. Nor
    # increase(), whose extrapolation moves a count that stands still.
    for promql in (bot, agents):
        counters = promql.count("_total{") + promql.count("_count{")
        # Each counter's highest sample less its value an hour ago, or all of it if younger.
        assert promql.count("max_over_time(") == 2 * promql.count(" offset 3600s) or ")
        assert promql.count("max_over_time(") == counters * 2 / 3
        assert promql.count("}[3600s])") == promql.count("max_over_time(")
        assert "rate(" not in promql and "increase(" not in promql


def test_windows_long_for_the_mean_short_for_recent_arrivals_longest_for_handle_time() -> None:
    queries = workload_queries(
        contact_center(),
        "bot",
        window_seconds=900,
        recent_windows=(60, 300),
        aht_window_seconds=3600,
    )
    assert "[900s]" in queries.arrival_rate
    assert [
        (seconds, "[60s]" in q or "[300s]" in q) for seconds, q in queries.recent_arrival_rates
    ] == [(60, True), (300, True)]
    assert "[60s]" in queries.recent_arrival_rates[0][1]
    assert "[3600s]" in queries.aht and "[900s]" not in queries.aht
    for promql in (queries.abandon_rate, queries.service_level):
        assert "[900s]" in promql
        assert "[60s]" not in promql


def test_contacts_in_the_system_are_the_tier_s_offered_minus_completed_minus_abandoned() -> None:
    for workload, handler in HANDLERS.items():
        promql = workload_queries(contact_center(), workload).in_system
        assert promql.startswith("clamp_min((sum((max_over_time(switchboard_")
        assert " - (sum((max_over_time(switchboard_handle_time_seconds_count{" in promql
        assert " - (sum((max_over_time(switchboard_contacts_abandoned_total{" in promql
        assert promql.count(f'handler="{handler}"') == 6
        assert promql.count("[3600s]") == 2 * promql.count("sum((max_over_time(")


def test_window_ranges() -> None:
    assert window(900) == "900s"
    assert window(60.0) == "60s"
    assert window(1.5) == "1500ms"
    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError):
            window(bad)


def test_patience_has_no_built_in_query() -> None:
    assert workload_queries(contact_center(), "bot").patience is None
    cc = contact_center({"spec.metrics.queries.patienceSeconds": "avg(my_patience_seconds)"})
    assert workload_queries(cc, "bot").patience == "avg(my_patience_seconds)"


def test_every_override_replaces_its_query_for_both_workloads() -> None:
    overrides = {
        "arrivalRate": "sum(rate(calls_total[$window]))",
        "handleTimeSeconds": "avg(aht_seconds)",
        "abandonRate": "avg(abandon_share)",
        "serviceLevel": "avg(sl_share)",
        "queueBacklog": "sum(waiting)",
        "patienceSeconds": "avg(patience)",
    }
    cc = contact_center({"spec.metrics.queries": overrides})
    for workload in ("bot", "agents"):
        queries = workload_queries(cc, workload, window_seconds=300, recent_windows=(30,))
        assert queries.arrival_rate == "sum(rate(calls_total[300s]))"
        assert queries.recent_arrival_rates == ((30, "sum(rate(calls_total[30s]))"),)
        assert queries.aht == "avg(aht_seconds)"
        assert queries.abandon_rate == "avg(abandon_share)"
        assert queries.service_level == "avg(sl_share)"
        assert queries.backlog == "sum(waiting)"
        assert queries.patience == "avg(patience)"


def test_an_override_leaves_the_other_queries_built_in() -> None:
    cc = contact_center({"spec.metrics.queries.arrivalRate": "sum(rate(calls_total[1m]))"})
    queries = workload_queries(cc, "bot")
    assert queries.arrival_rate == "sum(rate(calls_total[1m]))"
    assert queries.aht == workload_queries(contact_center(), "bot").aht


def test_override_placeholders() -> None:
    cc = contact_center(
        {
            "spec.metrics.queries.handleTimeSeconds": (
                'avg(aht{cc="$contact_center",ns="$namespace",who="$handler",w="$workload"}[$window])'
            )
        },
        name="acme",
        namespace="support",
    )
    # In the handle-time query, $window is the handle-time window.
    assert workload_queries(cc, "agents", aht_window_seconds=120).aht == (
        'avg(aht{cc="acme",ns="support",who="agent",w="agents"}[120s])'
    )
    assert workload_queries(cc, "bot", aht_window_seconds=120).aht == (
        'avg(aht{cc="acme",ns="support",who="bot",w="bot"}[120s])'
    )


def test_substituted_values_are_escaped_and_not_substituted_again() -> None:
    overrides = MetricQueries(arrival_rate='sum(rate(x{cc="$contact_center"}[$window]))')
    target = Target('a"$window', "ns", "bot", overrides)
    assert arrival_rate_query(target, 60) == 'sum(rate(x{cc="a\\"$window"}[60s]))'
    # A placeholder is a whole word: $windows is not $window.
    assert target.substitute("$windows $window", 60) == "$windows 60s"


def test_arrivals_per_slot_are_the_rate_over_the_slot_times_its_length() -> None:
    target = Target.of(contact_center(), "bot")
    assert arrivals_per_slot_query(target, 300) == f"({arrival_rate_query(target, 300)}) * 300"
    assert handle_time_query(target, 300) not in arrivals_per_slot_query(target, 300)


def test_today_from_midnight_stops_at_the_first_slot_without_data() -> None:
    history = ArrivalHistory((), (3.0, 4.0, None, 5.0), slot_seconds=300, day_start=0.0)
    assert history.today_from_midnight == (3.0, 4.0)
    assert ArrivalHistory((), (None, 1.0), 300, 0.0).today_from_midnight == ()


def test_the_interval_s_counts_are_the_tier_s_increases_since_it_began() -> None:
    # 2026-12-01 06:07:30 UTC: the interval began at 06:00, 450 s ago.
    now = 1_796_083_200 + 6 * 3600 + 7 * 60 + 30
    assert interval_elapsed_seconds(now) == 450
    assert interval_elapsed_seconds(now - 450) == 0
    for workload, handler in HANDLERS.items():
        queries = workload_queries(contact_center(), workload, interval_elapsed=450)
        assert queries.interval is not None
        offered, within, abandoned = queries.interval
        offered_metric = "contacts_arrived_total" if workload == "bot" else "bot_handoffs_total"
        assert offered.startswith(f"sum(increase(switchboard_{offered_metric}{{")
        assert within.startswith("sum(increase(switchboard_contacts_answered_total{")
        assert f'handler="{handler}"' in within and 'within_sla="true"' in within
        assert within.endswith("}[450s])) or vector(0)")
        assert "[450s]" in offered
        assert abandoned.startswith("sum(increase(switchboard_contacts_abandoned_total{")
        assert f'handler="{handler}"' in abandoned and abandoned.endswith("}[450s])) or vector(0)")
    # At its very start there is nothing to count yet.
    assert workload_queries(contact_center(), "bot", interval_elapsed=0).interval is None
    assert workload_queries(contact_center(), "bot").interval is None
