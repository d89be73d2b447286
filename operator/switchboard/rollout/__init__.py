"""Canary rollout of dialogue models (DESIGN.md §5, docs/rollouts.md), pure: `machine.decide`
is the state machine the controller calls every interval, `analysis.analyze` the verdict per
metric it feeds it, `sequential` the always-valid test behind the verdicts."""
