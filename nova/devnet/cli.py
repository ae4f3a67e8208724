"""``nova devnet ...``: compile, deploy, simulate traffic and force reorgs on a local anvil."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nova.devnet import DEFAULT_MANIFEST

if TYPE_CHECKING:
    from common.jsonrpc import JsonRpcClient
    from nova.devnet.deploy import Manifest
    from nova.devnet.simulate import SimStats

# The devnet's modules (eth-abi, httpx, the simulator) are imported by the commands that use
# them: every `nova` process builds this command group, and most never run one of these.

app = typer.Typer(help="Local devnet: contracts, traffic and reorgs.", no_args_is_help=True)

ManifestOpt = Annotated[
    Path, typer.Option("--manifest", help="Where the devnet manifest is read/written.")
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the deterministic traffic.")]


def _fail(msg: str, code: int = 1) -> typer.Exit:
    """An error: exit 1, or 2 for a bad option value (as every other nova command)."""
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(code)


@app.command("compile")
def compile_cmd() -> None:
    """Compile deploy/contracts/src with solc-js into deploy/contracts/artifacts."""
    from nova.devnet import artifacts

    try:
        typer.echo(artifacts.compile_contracts(), nl=False)
    except RuntimeError as exc:
        raise _fail(str(exc)) from exc


@app.command("up")
def up_cmd(
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    rpc_url: Annotated[
        str | None, typer.Option(help="Use this chain instead of starting the local anvil.")
    ] = None,
    simulate: Annotated[bool, typer.Option(help="Then run traffic until Ctrl-C.")] = False,
    interval: Annotated[
        float, typer.Option(help="With --simulate: seconds between blocks (0 = flat out).")
    ] = 1.0,
    seed: SeedOpt = 1,
) -> None:
    """Start (or reuse) a local anvil, deploy the contracts if needed, write the manifest."""
    from nova import stack
    from nova.devnet.deploy import Manifest

    if rpc_url is None:
        try:
            rpc_url = stack.up(services=("anvil",)).rpc_url
        except stack.StackError as exc:
            raise _fail(str(exc)) from exc
    if interval < 0:
        raise _fail(f"--interval must be >= 0, got {interval}", 2)
    existing = Manifest.load(manifest) if manifest.exists() else None
    asyncio.run(_up(rpc_url, manifest, existing, simulate, seed, interval))


async def _up(
    rpc_url: str,
    path: Path,
    existing: Manifest | None,
    simulate: bool,
    seed: int,
    interval: float,
) -> None:
    from common.jsonrpc import JsonRpcClient, RpcError, RpcTransportError
    from nova.devnet.chain import TxFailed
    from nova.devnet.deploy import deploy, is_deployed

    rpc = JsonRpcClient(rpc_url)
    try:
        if (
            existing is not None
            and existing.rpc_url == rpc_url
            and await is_deployed(rpc, existing)
        ):
            manifest = existing
            typer.echo(f"contracts already deployed (manifest {path})")
        else:
            manifest = await deploy(rpc)
            await asyncio.to_thread(manifest.save, path)
            typer.echo(f"deployed; manifest written to {path}")
        for name, info in manifest.contracts.items():
            typer.echo(f"  {name:13} {info['address']}  (block {info['block']})")
        typer.echo(f"  chain id {manifest.chain_id}, RPC {rpc_url}")
        if simulate:
            await _simulate(
                rpc, manifest, seed=seed, events=None, blocks=None, holders=40, interval=interval
            )
    except (RpcError, RpcTransportError, TxFailed) as exc:
        raise _fail(str(exc)) from exc
    finally:
        await rpc.close()


@app.command("simulate")
def simulate_cmd(
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    events: Annotated[
        int | None, typer.Option(help="Stop after this many contract events.")
    ] = None,
    blocks: Annotated[int | None, typer.Option(help="Stop after this many blocks.")] = None,
    holders: Annotated[int, typer.Option(help="How many token holders take part.")] = 40,
    interval: Annotated[
        float, typer.Option(help="Seconds between blocks (0 = as fast as the node goes).")
    ] = 0.0,
    seed: SeedOpt = 1,
) -> None:
    """Drive deterministic traffic (every event kind). Without --events/--blocks: until Ctrl-C."""
    from common.jsonrpc import JsonRpcClient, RpcError, RpcTransportError
    from nova.devnet.chain import TxFailed
    from nova.devnet.deploy import Manifest

    for name, value in (("events", events), ("blocks", blocks)):
        if value is not None and value < 1:
            raise _fail(f"--{name} must be >= 1, got {value}", 2)
    if interval < 0:
        raise _fail(f"--interval must be >= 0, got {interval}", 2)
    if holders < 2:
        raise _fail(f"--holders must be >= 2, got {holders}", 2)
    try:
        m = Manifest.load(manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc

    async def main() -> None:
        rpc = JsonRpcClient(m.rpc_url)
        try:
            await _simulate(
                rpc, m, seed=seed, events=events, blocks=blocks, holders=holders, interval=interval
            )
        except (RpcError, RpcTransportError, TxFailed) as exc:
            raise _fail(str(exc)) from exc
        finally:
            await rpc.close()

    asyncio.run(main())


async def _simulate(
    rpc: JsonRpcClient,
    manifest: Manifest,
    *,
    seed: int,
    events: int | None,
    blocks: int | None,
    holders: int,
    interval: float = 0.0,
) -> SimStats:
    from nova.devnet.chain import DevChain
    from nova.devnet.simulate import Simulator

    chain = DevChain(rpc)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    last = [0.0]

    def progress(stats: SimStats) -> None:
        now = time.monotonic()
        if now - last[0] >= 1 or not sys.stderr.isatty():
            last[0] = now
            end = "\r" if sys.stderr.isatty() else "\n"
            if sys.stderr.isatty() or stats.blocks % 50 == 0:
                print(
                    f"[simulate] head={sim.head} {stats.line()}",
                    end=end,
                    file=sys.stderr,
                    flush=True,
                )

    await chain.set_automine(False)
    try:
        sim = Simulator(chain, manifest, seed=seed, holders=holders)
        await sim.setup()
        stats = await sim.run(
            events=events,
            blocks=blocks,
            should_stop=stop.is_set,
            on_block=progress,
            interval_s=interval,
        )
    finally:
        await chain.set_automine(True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print(file=sys.stderr)
    typer.echo(f"done: head={sim.head} {stats.line()}")
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(stats.by_event.items()))
    typer.echo(f"events by kind: {kinds}")
    return stats


@app.command("reorg")
def reorg_cmd(
    depth: Annotated[int, typer.Option(help="How many blocks to replace.")],
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    seed: SeedOpt = 1,
) -> None:
    """Force a reorg of DEPTH blocks (anvil_reorg) whose new blocks carry different events."""
    from common.jsonrpc import JsonRpcClient, RpcError, RpcTransportError
    from nova.devnet.deploy import Manifest
    from nova.devnet.reorg import ReorgError, force_reorg

    try:
        m = Manifest.load(manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc

    async def main() -> None:
        rpc = JsonRpcClient(m.rpc_url)
        try:
            r = await force_reorg(rpc, m, depth, seed=seed)
        except (ReorgError, RpcError, RpcTransportError) as exc:
            raise _fail(str(exc)) from exc
        finally:
            await rpc.close()
        typer.echo(f"reorged blocks {r.first_orphaned}..{r.first_orphaned + depth - 1}:")
        for n, (old, new) in enumerate(zip(r.orphaned_hashes, r.new_hashes, strict=False)):
            typer.echo(f"  {r.first_orphaned + n}: {old} -> {new}")

    asyncio.run(main())
