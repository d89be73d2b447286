"""Capacity from a service level, pure: Erlang C and A, the arrival forecast, the scaling
decision, and the `switchboard sizing` planner built on them."""
