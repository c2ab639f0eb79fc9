"""1.58 per-conversation routes: runtime, git changes/diff of the scripted agent's edits, children, fork,
security analyzer and confirmation policy, ask_agent / condense / goal, and the tool catalog."""

from __future__ import annotations

import asyncio
import posixpath
import re
import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from . import scenarios, wire
from .agent import RunLimitReached
from .models import ChildRequest, ForkRequest
from .state import DemoState, api_guard, demo_state, not_found, run_limit_response
from .store import Conversation

router = APIRouter(dependencies=[Depends(api_guard)])
PREFIX = "/api/conversations/{conversation_id}"
SUCCESS = {"success": True}


def only_158(request: Request) -> None:
    """The 1.43 server has none of these routes."""
    if request.app.state.demo.legacy:
        raise not_found()


def known(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)) -> Conversation:
    conv = st.store.get(conversation_id)
    if conv is None:
        raise not_found()
    return conv


def workspace_conversation(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)) -> Conversation:
    conv = st.store.get(conversation_id)
    if conv is None:
        raise HTTPException(status_code=404, detail=f"Conversation not found: {conversation_id}")
    return conv


guarded = [Depends(only_158)]


@router.get("/api/tools/catalog", dependencies=guarded)
async def tools_catalog():
    return wire.tools_catalog()


@router.get("/api/tools/")
async def tool_names():
    return [t[0] for t in wire.TOOLS_CATALOG if t[2]]


@router.get("/api/skills/catalog", dependencies=guarded)
async def skills_catalog():
    return {"skills": []}  # the demo has no user skills and no network for the public catalog


@router.get(PREFIX + "/runtime", dependencies=guarded)
async def runtime(conv: Conversation = Depends(known)):
    return dict(conv.runtime)


@router.post(PREFIX + "/runtime/reprovision", dependencies=guarded)
async def reprovision(conv: Conversation = Depends(known)):
    conv.runtime = dict(wire.RUNTIME_AVAILABLE)  # a local runtime is there again at once
    return dict(conv.runtime)


@router.get(PREFIX + "/vscode/url", dependencies=guarded)
async def vscode_url(conv: Conversation = Depends(known)):
    return {"url": None}


@router.get(PREFIX + "/vscode/status", dependencies=guarded)
async def vscode_status(conv: Conversation = Depends(known)):
    return {"running": False, "enabled": True}


# ---------------------------------------------------------------- git (from the agent's own edits)


def _inside(conv: Conversation, path: str) -> str:
    workdir = (conv.workspace.get("working_dir") or "/").rstrip("/") or "/"
    norm = posixpath.normpath(path) if path.startswith("/") else ""
    if not norm or not (norm == workdir or norm.startswith(workdir.rstrip("/") + "/")):
        raise HTTPException(status_code=422, detail="path must be inside the conversation workspace")
    return norm


@router.get(PREFIX + "/git/changes", dependencies=guarded)
async def git_changes(
    path: str, ref: str | None = None, conv: Conversation = Depends(workspace_conversation)
) -> list[dict[str, str]]:
    """Files the scripted agent created (ADDED) or changed (UPDATED), relative to ``path``, sorted."""
    root = _inside(conv, path)
    changes = []
    for file, text in conv.files.items():
        if not file.startswith(root.rstrip("/") + "/"):
            continue
        before = conv.originals.get(file)
        if before == text:
            continue
        status = "ADDED" if before is None else "UPDATED"
        changes.append({"status": status, "path": posixpath.relpath(file, root)})
    return sorted(changes, key=lambda c: c["path"])


@router.get(PREFIX + "/git/diff", dependencies=guarded)
async def git_diff(
    path: str, ref: str | None = None, commit: str | None = None, conv: Conversation = Depends(workspace_conversation)
) -> dict[str, Any]:
    """Whole files, trailing newline stripped; ``original`` is empty for a new file. With ``commit``: the
    file as the conversation found it (the demo's single imaginary commit)."""
    file = _inside(conv, path)
    if ref is not None and commit is not None:
        raise HTTPException(status_code=400, detail="'ref' and 'commit' are mutually exclusive")
    if file not in conv.files:
        raise HTTPException(status_code=400, detail=f"File does not exist: {file}")
    original = conv.originals.get(file) or ""
    if commit is not None:
        return {"modified": original.rstrip("\n"), "original": ""}
    return {"modified": conv.files[file].rstrip("\n"), "original": original.rstrip("\n")}


@router.get(PREFIX + "/git/commits", dependencies=guarded)
async def git_commits(path: str, conv: Conversation = Depends(workspace_conversation)) -> dict[str, Any]:
    _inside(conv, path)
    return {"commits": [], "has_more": False}


@router.get(PREFIX + "/git/commits/{sha}/changes", dependencies=guarded)
async def git_commit_changes(sha: str, path: str, conv: Conversation = Depends(workspace_conversation)) -> list:
    _inside(conv, path)
    return []


@router.get("/api/git/changes", dependencies=guarded)
async def server_git_changes(path: str) -> list:
    return []  # the server-wide route knows no conversation, hence none of the scripted agent's edits


APPEND = re.compile(r"""^(?:echo|printf)\s+(['"])(.*)\1\s*>>\s*(\S+)$""")


@router.post(PREFIX + "/bash/execute_bash_command", dependencies=guarded)
async def execute_bash_command(body: dict[str, Any], conv: Conversation = Depends(workspace_conversation)):
    """Runs nothing. ``echo '…' >> FILE`` is recorded as an edit of FILE, so git changes show it."""
    command = str(body.get("command", ""))
    if m := APPEND.match(command.strip()):
        file = posixpath.join(str(body.get("cwd") or conv.workspace.get("working_dir") or "/"), m.group(3))
        before = conv.files.get(file, "")
        conv.originals.setdefault(file, before)
        conv.files[file] = before + m.group(2) + "\n"
        conv.save_meta()
    return {
        "id": uuid.uuid4().hex,
        "timestamp": wire.utc_now(),
        "command_id": uuid.uuid4().hex,
        "order": 0,
        "exit_code": 0,
        "stdout": None,
        "stderr": None,
        "kind": "BashOutput",
    }


# ---------------------------------------------------------------- children and fork


@router.post(PREFIX + "/children", status_code=201, dependencies=guarded)
async def start_child(conversation_id: uuid.UUID, body: ChildRequest, st: DemoState = Depends(demo_state)):
    parent = st.store.get(conversation_id)
    if parent is None:
        raise HTTPException(status_code=404, detail="Parent conversation not found")
    try:
        st.engine.check_capacity()  # nothing is created on a 429
    except RunLimitReached:
        return run_limit_response()
    child = await st.engine.start_child(parent, body.task, body.title, body.isolation)
    return {
        "conversation_id": child.id_str,
        "parent_conversation_id": parent.id_str,
        "status": "idle",  # the pre-run status, though the child already runs
        "title": child.title,
        "url": None,
        "workspace": child.workspace["working_dir"],
        "isolation": body.isolation,
    }


@router.post(PREFIX + "/fork", status_code=201, dependencies=guarded)
async def fork(conversation_id: uuid.UUID, body: ForkRequest, st: DemoState = Depends(demo_state)):
    source = st.store.get(conversation_id)
    if source is None:
        raise HTTPException(status_code=404, detail="Source conversation not found")
    conv = st.engine.fork(source, body.title, body.tags)
    return st.store.info(conv)


# ---------------------------------------------------------------- risk settings


@router.post(PREFIX + "/security_analyzer", dependencies=guarded)
async def set_security_analyzer(body: dict[str, Any], conv: Conversation = Depends(known)):
    conv.security_analyzer = body.get("security_analyzer")
    conv.emit(wire.state_update("security_analyzer", conv.security_analyzer, conv.leaf_event_id))
    conv.save_meta()
    return SUCCESS


@router.post(PREFIX + "/confirmation_policy", dependencies=guarded)
async def set_confirmation_policy(body: dict[str, Any], conv: Conversation = Depends(known)):
    conv.confirmation_policy = body.get("policy") or {"kind": "NeverConfirm"}
    conv.emit(wire.state_update("confirmation_policy", conv.confirmation_policy, conv.leaf_event_id))
    conv.save_meta()
    return SUCCESS


# ---------------------------------------------------------------- ask_agent, condense, goal


@router.post(PREFIX + "/ask_agent", dependencies=guarded)
async def ask_agent(conversation_id: uuid.UUID, body: dict[str, Any], st: DemoState = Depends(demo_state)):
    if st.store.get(conversation_id) is None:
        raise HTTPException(status_code=404, detail="Conversation not found")
    plan = scenarios.plan_for(str(body.get("question", "")))
    answer = plan[0].text if plan and isinstance(plan[0], scenarios.Reply) else scenarios.NO_MESSAGE_ANSWER
    await asyncio.sleep(st.engine.knobs.llm_seconds)
    return {"response": answer}


@router.post(PREFIX + "/condense", dependencies=guarded)
async def condense(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)):
    if st.store.get(conversation_id) is None:
        raise HTTPException(status_code=404, detail="Conversation not found")
    return JSONResponse(status_code=409, content={"detail": "Cannot condense conversation: No condenser configured"})


@router.post(PREFIX + "/goal", dependencies=guarded)
async def goal(conversation_id: uuid.UUID, body: dict[str, Any], st: DemoState = Depends(demo_state)):
    conv = st.store.get(conversation_id)
    if conv is None:
        raise HTTPException(status_code=404, detail="Conversation not found")
    try:
        st.engine.check_capacity()
    except RunLimitReached:
        return run_limit_response()
    await st.engine.send_message(conv, str(body.get("goal") or body.get("task") or ""), run=True)
    return SUCCESS
