"""The ``nova`` command: one entry point for running, operating and developing the backend."""

from __future__ import annotations

import typer

from nova import ops_cli, runtime, serve_cli, sync_cli
from nova import stack as local_stack
from nova.devnet.cli import app as devnet_app

app = typer.Typer(
    name="nova",
    help="NovaToken backend: chain indexing services, local stack and devnet tools.",
    no_args_is_help=True,
    add_completion=False,
)
stack_app = typer.Typer(
    help="The local real stack (MariaDB, Redis, tansu, SecantusDB, anvil).", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
app.add_typer(devnet_app, name="devnet")
app.command("migrate")(sync_cli.migrate_cmd)
app.command("sync")(sync_cli.sync_cmd)
app.command("backfill")(sync_cli.backfill_cmd)
app.command("rewind")(sync_cli.rewind_cmd)
app.add_typer(serve_cli.serve_app, name="serve")
app.command("dev")(serve_cli.dev_cmd)

app.add_typer(serve_cli.verify_app, name="verify")
app.add_typer(ops_cli.health_app, name="health")
app.add_typer(ops_cli.config_app, name="config")


@stack_app.command("up")
def stack_up() -> None:
    """Start (or reuse) every stack service on 127.0.0.1 and print the endpoints."""
    try:
        endpoints = local_stack.up()
    except local_stack.StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for field, value in vars(endpoints).items():
        typer.echo(f"{field}={value}")


@stack_app.command("down")
def stack_down() -> None:
    """Stop the services that `nova stack up` started (machine services are left alone)."""
    stopped = local_stack.down()
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing"))


@stack_app.command("status")
def stack_status() -> None:
    """Show which stack services answer, and who started them."""
    for name, line in local_stack.status().items():
        typer.echo(f"{name:8} {line}")


def main() -> None:
    runtime.tune_gc()
    app()


if __name__ == "__main__":
    main()
