"""A latency-injecting loopback TCP proxy: `python -m bench.proxy TARGET_PORT --rtt 0.2 --log FILE`.

Every chunk is delivered `rtt / 2` seconds after it arrived, in each direction, in order (latency, not a
bandwidth limit), and a new connection's first bytes wait one more `rtt` (the TCP handshake a far server costs):
a far server as the app sees it. It prints `listening on http://127.0.0.1:PORT` and appends one
JSON line per observation to the log, stamped with `time.perf_counter()` (CLOCK_MONOTONIC, comparable with the
measured process): each connection accepted, each HTTP request line the client sends (method and path; the
query is cut off so nothing secret lands in the log) and the first response bytes that follow it. From that the
benchmark counts the requests an action made and how many of them were one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

METHODS = (b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ", b"HEAD ", b"OPTIONS ")


class Log:
    def __init__(self, path: str | None) -> None:
        self.fh = open(path, "a", buffering=1) if path else None

    def write(self, **obj) -> None:
        if self.fh is not None:
            obj["t"] = time.perf_counter()
            self.fh.write(json.dumps(obj) + "\n")


async def _pipe(reader, writer, delay: float, on_chunk, not_before: float = 0.0) -> None:
    """Forward reader → writer, each chunk `delay` seconds after it arrived (and not before `not_before`), order
    kept."""
    queue: asyncio.Queue = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    task = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            on_chunk(data)
            await queue.put((max(time.perf_counter(), not_before) + delay, data or None))
            if not data:
                break
        await task
    except (ConnectionError, asyncio.CancelledError):
        task.cancel()
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def serve(target_port: int, rtt: float, log: Log, port: int = 0) -> None:
    ids = itertools.count(1)

    async def handle(client_reader, client_writer) -> None:
        conn = next(ids)
        # The kernel completed the TCP handshake at once; a far server would have taken one round trip for it.
        handshake_done = time.perf_counter() + rtt
        log.write(ev="conn", conn=conn)
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        state = {"awaiting": False}

        def up(data: bytes) -> None:
            if data.startswith(METHODS):
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                method, _, rest = line.partition(" ")
                path = rest.split(" ", 1)[0].split("?", 1)[0]
                log.write(ev="req", conn=conn, method=method, path=path)
                state["awaiting"] = True

        def down(data: bytes) -> None:
            if state["awaiting"] and data:
                state["awaiting"] = False
                log.write(ev="resp", conn=conn)

        await asyncio.gather(
            _pipe(client_reader, server_writer, rtt / 2, up, handshake_done),
            _pipe(server_reader, client_writer, rtt / 2, down),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def read_log(path: str) -> list[dict]:
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def round_trips(log: list[dict], start: float, end: float) -> dict:
    """Requests sent between `start` and `end`, and the length of their chain: a request that starts after the
    previous chain's response arrived adds a round trip; requests in flight together share one."""
    reqs = [e for e in log if e["ev"] == "req" and start <= e["t"] < end]
    resp_by_conn: dict[int, list[float]] = {}
    for e in log:
        if e["ev"] == "resp":
            resp_by_conn.setdefault(e["conn"], []).append(e["t"])
    sequential = 0
    horizon = -1.0  # the latest response time of the requests counted in the current round trip
    paths: dict[str, int] = {}
    for e in reqs:
        key = f"{e['method']} {_shape(e['path'])}"
        paths[key] = paths.get(key, 0) + 1
        resp = next((t for t in resp_by_conn.get(e["conn"], []) if t > e["t"]), end)
        if e["t"] >= horizon:
            sequential += 1
            horizon = resp
        else:
            horizon = max(horizon, resp)
    conns = len({e["conn"] for e in log if e["ev"] == "conn" and start <= e["t"] < end})
    return {"requests": len(reqs), "sequential_round_trips": sequential, "new_connections": conns, "by_path": paths}


def _shape(path: str) -> str:
    """/api/conversations/<uuid>/events/search → /api/conversations/{id}/events/search"""
    parts = ["{id}" if (len(p) >= 32 and "-" in p) or len(p) == 32 else p for p in path.split("/")]
    return "/".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy")
    parser.add_argument("target_port", type=int)
    parser.add_argument("--rtt", type=float, default=0.2, help="added round-trip time in seconds")
    parser.add_argument("--log", default=None)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.target_port, args.rtt, Log(args.log)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
