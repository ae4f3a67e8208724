"""The local stack replaces a SecantusDB that a deleted checkout left running: it still answers
ping on its port, but its storage folder is gone and every new database fails, so reusing it
would fail every archive test with "internal server error"."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from nova import stack


def _writes(port: int) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=2000
    )
    name = f"nova_test_stack_{uuid.uuid4().hex[:8]}"  # a new database, as tests create
    try:
        client[name]["c"].insert_one({"x": 1})
        client.drop_database(name)
        return True
    except Exception:
        return False
    finally:
        client.close()


def test_an_orphaned_secantus_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = stack.free_port()
    old_storage = tmp_path / "deleted-checkout" / "secantus"
    old_storage.mkdir(parents=True)
    orphan = subprocess.Popen(
        [
            str(stack.secantus_bin()),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--storage-path", str(old_storage), "--log-level", "WARNING"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # a private stack folder, with the installed SecantusDB linked in (no second install)
    here = tmp_path / "stack"
    here.mkdir()
    (here / "secantus-venv").symlink_to(stack.secantus_bin().parents[1])
    monkeypatch.setenv("NOVA_STACK_DIR", str(here))
    ports = stack.Ports(mongo=port)
    try:
        stack.wait_until(lambda: stack.port_open(port) and _writes(port), "secantus", 90)

        # the checkout is deleted, its server runs on (once, under load, a write right after
        # the deletion still succeeded: a flush of the probe's dropped database in flight
        # recreated the folder, so delete until writes fail)
        def deleted() -> bool:
            shutil.rmtree(old_storage.parent, ignore_errors=True)
            return not _writes(port)

        stack.wait_until(deleted, "the orphan's storage gone", 30)
        assert stack._orphaned_secantus(port) == orphan.pid

        stack.up(ports, services=("mongo",))

        assert orphan.wait(20) is not None  # stopped
        assert _writes(port)
        assert stack._orphaned_secantus(port) is None
    finally:
        assert stack.down() in ([], ["mongo"])
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait(10)
    assert not stack.port_open(port)


def test_something_else_on_the_port_is_named_not_reused() -> None:
    port = stack.free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with pytest.raises(stack.StackError, match=f"port {port} is taken"):
            stack.up(stack.Ports(mongo=port), services=("mongo",))


def test_a_process_that_started_servers_exits_without_warnings(tmp_path: Path) -> None:
    """The servers ``up`` starts outlive the process that started them (a test session, a
    benchmark): its exit under ``-W error`` (as pytest runs) prints no "still running"."""
    script = (
        "import sys\n"
        "from nova import stack\n"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(30)']\n"
        "stack._DAEMONS.append(stack._spawn('exit-probe', sleeper)[0])  # as up() keeps it\n"
        "print(stack._DAEMONS[-1].pid)\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=stack.REPO_ROOT,
        env={**os.environ, "NOVA_STACK_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        assert run.returncode == 0, run.stderr
        assert "still running" not in run.stderr and "ResourceWarning" not in run.stderr, run.stderr
    finally:
        if run.stdout.strip().isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(run.stdout.strip()), signal.SIGKILL)
