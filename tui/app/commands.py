"""Command palette: switch to any conversation by title (the app's actions come from `get_system_commands`)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from . import render


class ConversationCommands(Provider):
    def _items(self) -> Iterator[tuple[str, str, str]]:
        from .app import OpenHandsApp  # the app imports this module

        app = self.app
        if not isinstance(app, OpenHandsApp):
            return
        for entry in app.fleet.servers:
            for cid, info in entry.conversations.items():
                title = render.one_line(info.title or cid[:8], 60)
                yield f"Open: {title} ({entry.name}, {render.status_label(info.status)})", entry.name, cid

    async def _open(self, server: str, cid: str) -> None:
        from .app import OpenHandsApp

        if isinstance(self.app, OpenHandsApp):
            await self.app.open_conversation(server, cid)

    async def discover(self) -> Hits:
        for text, server, cid in list(self._items())[:10]:
            yield DiscoveryHit(text, partial(self._open, server, cid), help="switch to it")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, server, cid in list(self._items()):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._open, server, cid), help="switch to it")
