"""Canary rollout of dialogue models (DESIGN.md §5): its state machine and sequential analysis,
pure. Not written yet."""
