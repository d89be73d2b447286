"""The gateway role: one channel's adapter (webchat, api, email, or the provider adapter of sms,
whatsapp and social) on the shared service runner.

A channel type without an adapter yet (voice, video, app) still runs and is
ready (so its Deployment rolls and the ContactCenter can be Ready): it says at start in one line
that its provider adapter is not built, answers every other request with 501 saying so, and the
operator reports the missing adapter in the component's status.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from switchboard.api.channels import PROVIDER_CHANNEL_TYPES, SERVED_CHANNEL_TYPES
from switchboard.dataplane.gateway.api import Api
from switchboard.dataplane.gateway.conversations import Conversations
from switchboard.dataplane.gateway.hub import Hub
from switchboard.dataplane.gateway.provider import Provider
from switchboard.dataplane.gateway.routing_file import RoutingFile
from switchboard.dataplane.gateway.smtp import Email
from switchboard.dataplane.gateway.webchat import Webchat
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.topology import customer_deliveries
from switchboard.dataplane.wiring import GatewayWiring

logger = logging.getLogger(__name__)


class Gateway:
    name = "gateway"

    def __init__(self, channel: GatewayWiring, routing_file: str) -> None:
        self.channel = channel
        self.hub = Hub()
        self.routing = RoutingFile(routing_file)
        self.conversations = Conversations(channel, self.routing)
        self.webchat: Webchat | None = None
        self.api: Api | None = None
        self.provider: Provider | None = None
        self.email: Email | None = None
        if channel.channel_type == "webchat":
            self.webchat = Webchat(self.conversations, self.hub, channel.disconnect_grace_seconds)
        elif channel.channel_type == "api" and channel.api_token is not None:
            self.api = Api(self.conversations, self.hub, channel.api_token)
        elif channel.channel_type in PROVIDER_CHANNEL_TYPES and channel.api_token is not None:
            self.provider = Provider(self.conversations, channel.api_token, channel.provider_url)
            if channel.provider_url is None:
                logger.warning(
                    "channel %s has no provider URL: customers' messages are taken, but "
                    "replies are not sent anywhere",
                    channel.channel,
                )
        elif channel.email is not None:
            self.email = Email(self.conversations, channel.email)
        else:
            logger.warning(
                "channel %s is of type %s, which has no provider adapter yet (this gateway "
                "serves %s): it serves no customers",
                channel.channel,
                channel.channel_type,
                " and ".join(SERVED_CHANNEL_TYPES),
            )
        self._serving = False
        self._catching_up: asyncio.Task[None] | None = None

    @property
    def has_adapter(self) -> bool:
        adapters = (self.webchat, self.api, self.provider, self.email)
        return any(adapter is not None for adapter in adapters)

    def routes(self, app: web.Application) -> None:
        if self.webchat is not None:
            self.webchat.routes(app)
        if self.api is not None:
            self.api.routes(app)
        if self.provider is not None:
            self.provider.routes(app)
        if not self.has_adapter:
            app.router.add_route("*", "/{path:.*}", self._no_adapter)

    async def _no_adapter(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "error": "no_adapter",
                "message": f"the {self.channel.channel_type} provider adapter is not built yet",
            },
            status=501,
        )

    async def start(self, runtime: Runtime) -> None:
        if not self.has_adapter:
            self._serving = True
            return
        self.routing.current()  # read it now: its problems are in the log from the start
        # Subscribed before serving, so no delivery is missed by a client served after.
        await runtime.bus.subscribe_deliveries(
            [customer_deliveries(self.channel.channel)], self.hub.deliver
        )
        runtime.bus.on_reconnect(self._catch_up)
        self.conversations.attach(runtime)
        if self.webchat is not None:
            self.webchat.start()
        if self.api is not None:
            await self.api.start(runtime)
        if self.provider is not None:
            await self.provider.start(runtime)
        if self.email is not None:
            await self.email.start(runtime)
        self._serving = True

    async def _catch_up(self) -> None:
        """After a reconnect to the broker: connections catch up on deliveries they may have
        missed, in the background (the reconnect waits for its callbacks)."""
        self._catching_up = asyncio.create_task(self.hub.resync(), name="catch up")

    async def stop(self) -> None:
        self._serving = False
        if self._catching_up is not None:
            self._catching_up.cancel()
        if self.webchat is not None:
            await self.webchat.stop()
        if self.api is not None:
            await self.api.stop()
        if self.provider is not None:
            await self.provider.stop()
        if self.email is not None:
            await self.email.stop()

    def ready(self) -> bool:
        if not self.has_adapter:
            return self._serving
        return self._serving and self.routing.current() is not None
