"""Embedded demo agent server: the OpenHands agent-server protocol with a scripted agent.

`DemoServer`, `create_app` and `serve` load FastAPI and uvicorn on first use, so that importing this package
(the CLI does, for `demo-server --help`) stays cheap.
"""

__all__ = ["DemoServer", "create_app", "serve"]


def __getattr__(name: str):
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
