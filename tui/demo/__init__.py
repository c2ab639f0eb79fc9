"""Embedded demo agent server: the OpenHands agent-server protocol with a scripted agent."""

from .server import DemoServer, create_app, serve

__all__ = ["DemoServer", "create_app", "serve"]
