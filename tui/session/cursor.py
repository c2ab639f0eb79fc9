"""Where the session socket resumes: the last durable `seq` held, per conversation, in the state directory.

Written atomically (a temporary file renamed over the old one), so a crash leaves the old value or the new one,
never half of either. A damaged or missing file reads as "nothing held".
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["CursorStore"]


class CursorStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path_for(self, server_url: str, conversation_id: str) -> Path:
        server = hashlib.sha256(server_url.rstrip("/").encode()).hexdigest()[:12]
        return self.directory / f"{server}-{conversation_id}.json"

    def load(self, server_url: str, conversation_id: str) -> int | None:
        try:
            data = json.loads(self.path_for(server_url, conversation_id).read_text())
        except (OSError, ValueError):
            return None
        seq = data.get("seq") if isinstance(data, dict) else None
        return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None

    def save(self, server_url: str, conversation_id: str, seq: int) -> None:
        path = self.path_for(server_url, conversation_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cursor-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump({"conversation_id": conversation_id, "seq": seq}, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
