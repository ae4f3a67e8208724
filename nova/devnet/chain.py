"""A dev-chain driver over JSON-RPC: unlocked/impersonated senders, manual mining, time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.jsonrpc import JsonRpcClient


class TxFailed(RuntimeError):
    pass


@dataclass
class Tx:
    sender: str
    to: str | None
    data: str
    gas: int
    what: str  # a human description, for error messages
    value: int = 0


class DevChain:
    """Drives an anvil: sends transactions with explicit nonces and gas, mines blocks on demand."""

    def __init__(self, rpc: JsonRpcClient) -> None:
        self.rpc = rpc
        self._nonces: dict[str, int] = {}

    async def chain_id(self) -> int:
        return int(await self.rpc.call("eth_chainId"), 16)

    async def block_number(self) -> int:
        return int(await self.rpc.call("eth_blockNumber"), 16)

    async def block(self, number: int | str = "latest") -> dict[str, Any]:
        tag = hex(number) if isinstance(number, int) else number
        block: dict[str, Any] = await self.rpc.call("eth_getBlockByNumber", tag, False)
        return block

    async def accounts(self) -> list[str]:
        return list(await self.rpc.call("eth_accounts"))

    async def set_automine(self, on: bool) -> None:
        await self.rpc.call("evm_setAutomine", on)

    async def impersonate_all(self) -> None:
        await self.rpc.call("anvil_autoImpersonateAccount", True)

    async def set_balances(self, addresses: Sequence[str], wei: int) -> None:
        await self.rpc.batch([("anvil_setBalance", [a, hex(wei)]) for a in addresses])

    async def refresh_nonces(self, addresses: Sequence[str]) -> None:
        counts = await self.rpc.batch(
            [("eth_getTransactionCount", [a, "latest"]) for a in addresses]
        )
        for a, c in zip(addresses, counts, strict=True):
            self._nonces[a.lower()] = int(c, 16)

    def forget_nonces(self) -> None:
        self._nonces.clear()

    async def _nonce(self, sender: str) -> int:
        key = sender.lower()
        if key not in self._nonces:
            self._nonces[key] = int(
                await self.rpc.call("eth_getTransactionCount", sender, "pending"), 16
            )
        nonce = self._nonces[key]
        self._nonces[key] = nonce + 1
        return nonce

    async def send(self, txs: Sequence[Tx]) -> list[str]:
        """Submit transactions in order; returns their hashes.

        One request at a time, on purpose: anvil evaluates the items of a JSON-RPC batch
        concurrently, so a batch does not keep submission order across senders, and the
        simulator's model (stake ids, receive-then-spend in one block) needs that order.
        """
        hashes = []
        for tx in txs:
            req: dict[str, Any] = {
                "from": tx.sender,
                "data": tx.data,
                "gas": hex(tx.gas),
                "nonce": hex(await self._nonce(tx.sender)),
            }
            if tx.to is not None:
                req["to"] = tx.to
            if tx.value:
                req["value"] = hex(tx.value)
            try:
                hashes.append(str(await self.rpc.call("eth_sendTransaction", req)))
            except Exception as exc:
                self.forget_nonces()
                raise TxFailed(f"{tx.what}: not accepted: {exc}") from exc
        return hashes

    async def mine(self, timestamp: int | None = None) -> None:
        if timestamp is not None:
            await self.rpc.call("evm_setNextBlockTimestamp", hex(timestamp))
        await self.rpc.call("evm_mine")

    async def receipts(self, hashes: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            out.extend(await self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in chunk]))
        return out

    async def check(self, txs: Sequence[Tx], receipts: Sequence[dict[str, Any] | None]) -> None:
        for tx, rcpt in zip(txs, receipts, strict=True):
            if rcpt is None:
                raise TxFailed(f"{tx.what}: not mined")
            if int(rcpt["status"], 16) != 1:
                raise TxFailed(f"{tx.what}: reverted in block {int(rcpt['blockNumber'], 16)}")

    async def transact(
        self, txs: Sequence[Tx], timestamp: int | None = None
    ) -> list[dict[str, Any]]:
        """Send, mine one block, and require every transaction to have succeeded."""
        hashes = await self.send(txs)
        await self.mine(timestamp)
        receipts = await self.receipts(hashes)
        await self.check(txs, receipts)
        return receipts

    async def call(self, to: str, data: str, block: int | str = "latest") -> str:
        tag = hex(block) if isinstance(block, int) else block
        return str(await self.rpc.call("eth_call", {"to": to, "data": data}, tag))
