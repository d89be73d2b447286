"""The agents tier: routing of handed-off conversations and the agent workspace
(docs/dataplane.md, "The agents tier").

Every replica routes (the oldest waiting conversation to the longest-idle agent with room, both
rows locked with SKIP LOCKED, so replicas never offer one contact twice), expires offers not
accepted in time, and serves agents: a web UI and its WebSocket, and a REST API for scripts and
the load generator. The choice of agent is pure (`routing`); SQL only fetches candidates.
"""
