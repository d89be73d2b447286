"""The contact center the operator deploys: gateway, bot and agents tier (docs/dataplane.md).

Each role is a pure core (state transitions, routing choice, handoff decision, model scoring)
with async edges: HTTP and WebSocket (aiohttp), the store (PostgreSQL via asyncpg) and the bus
(RabbitMQ via aio-pika). Its dependencies are the package's `dataplane` extra, so the operator
alone stays light.
"""
