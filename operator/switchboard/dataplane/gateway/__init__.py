"""The channel gateway (`switchboard gateway`): where customers meet the contact center.

One process serves one channel: `webchat` (a WebSocket protocol, the customer page and an
embeddable script) or `api` (REST with long-poll reads and webhooks). It starts conversations on
a bot track chosen by the routing file's weights, stores customer messages and hands them to
the bot or the agent, pushes what was stored for the customer in order, and counts arrivals and
departures. docs/dataplane.md, "The channel gateway", is its protocol.
"""
