"""Command palette: switch to any conversation by title (the app's actions come from `get_system_commands`)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from . import render


class ConversationCommands(Provider):
    def _items(self):
        app = self.app
        fleet = getattr(app, "fleet", None)
        if fleet is None:
            return
        for entry in fleet.servers:
            for cid, info in entry.conversations.items():
                title = render.one_line(info.title or cid[:8], 60)
                yield f"Open: {title} ({entry.name}, {render.status_label(info.status)})", entry.name, cid

    async def _open(self, server: str, cid: str) -> None:
        await self.app.open_conversation(server, cid)  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for text, server, cid in list(self._items())[:10]:
            yield DiscoveryHit(text, partial(self._open, server, cid), help="switch to it")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, server, cid in list(self._items()):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._open, server, cid), help="switch to it")
