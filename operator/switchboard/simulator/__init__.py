"""The contact-center simulator ("digital twin").

Pure parts: `traffic` (arrival profiles), `contacts` (what one contact does), `engine` (the
discrete-event queue), `policies` (how capacity is chosen), `offline` and `report` (a simulated
day and its figures), `capacity` (where live mode's capacity comes from, as a protocol). Edges:
`exporter` (Prometheus metrics), `cluster` (ready replicas read from Kubernetes), `live`
(real-time loop), `plot` (PNG) and `command` (`switchboard simulate`). The pure parts import no
edge: tests/unit/test_architecture.py checks it.
"""
