"""VerificationService on a real anvil: every verdict reached on purpose, signatures (EIP-191,
EIP-712, ERC-1271) recovered or refused, bad input named."""

from __future__ import annotations

import grpc
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from block_sync_service.api.verification_api import (
    SERVICE_NAME,
    VerificationServicer,
    register,
)
from block_sync_service.application.verification import TxVerifier
from common.grpc_server import serve
from common.jsonrpc import JsonRpcClient
from nova.devnet import artifacts
from nova.devnet.chain import DevChain, Tx
from nova.devnet.deploy import deploy
from nova.devnet.reorg import force_reorg
from novapb.verification.v1 import verification_pb2 as pb
from novapb.verification.v1 import verification_pb2_grpc as pb_grpc

TOK = artifacts.load("NovaToken").abi
WALLET = artifacts.load("TestERC1271Wallet")
TOKEN_UNIT = 10**18
FINAL_DEPTH = 5
SIGNER = Account.from_key("0x" + "5a" * 32)
OTHER = Account.from_key("0x" + "6b" * 32)
TYPED = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
        ],
        "Login": [{"name": "user", "type": "address"}, {"name": "nonce", "type": "uint256"}],
    },
    "primaryType": "Login",
    "domain": {"name": "NovaToken", "version": "1", "chainId": 31337},
    "message": {"user": SIGNER.address, "nonce": 42},
}


@pytest.fixture(scope="module")
async def env(anvil_url):
    rpc = JsonRpcClient(anvil_url)
    manifest = await deploy(rpc)
    chain = DevChain(rpc)
    await chain.set_automine(False)
    verifier = TxVerifier(rpc, manifest.address("NovaToken"), final_depth=FINAL_DEPTH)
    server = await serve(register(VerificationServicer(verifier, rpc)), [SERVICE_NAME], 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    accounts = [str(a) for a in await chain.accounts()]
    yield {
        "rpc": rpc,
        "chain": chain,
        "manifest": manifest,
        "verifier": verifier,
        "stub": pb_grpc.VerificationServiceStub(channel),
        "accounts": accounts,
    }
    await channel.close(None)
    await server.stop(0)
    await rpc.close()


async def _send(chain: DevChain, *txs: Tx) -> list[str]:
    hashes = await chain.send(list(txs))
    await chain.mine()
    return hashes


def _transfer(token: str, src: str, dst: str, amount: int, gas: int = 200_000) -> Tx:
    return Tx(src, token, TOK.encode_call("transfer", dst, amount), gas, "transfer")


async def test_transfer_verdicts(env):
    chain, stub, (a0, a1, a2, a3, *_) = env["chain"], env["stub"], env["accounts"]
    token = env["manifest"].address("NovaToken")
    (tx,) = await _send(chain, _transfer(token, a1, a2, 5 * TOKEN_UNIT))
    req = pb.VerifyTransferRequest(tx_hash=tx, to=a2.lower(), value=str(5 * TOKEN_UNIT))
    setattr(req, "from", a1)
    ok = await stub.VerifyTransfer(req)
    assert ok.verdict == "verified" and ok.confirmations == 1 and ok.log_index >= 0
    assert not ok.final
    # confirmations below the threshold: pending, then verified after more blocks
    req.min_confirmations = 3
    assert (await stub.VerifyTransfer(req)).verdict == "pending"
    await chain.mine()
    await chain.mine()
    assert (await stub.VerifyTransfer(req)).verdict == "verified"
    # wrong amount / recipient: mismatch naming the field, expected vs actual
    bad = await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=tx, value="1"))
    assert bad.verdict == "mismatch"
    assert [(m.field, m.expected, m.actual) for m in bad.mismatches] == [
        ("value", "1", str(5 * TOKEN_UNIT))
    ]
    bad = await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=tx, to=a3))
    assert [m.field for m in bad.mismatches] == ["to"]
    # several transfers in one tx: the right log index
    calls = [
        TOK.encode_call("transfer", dst, n * TOKEN_UNIT) for dst, n in ((a2, 1), (a3, 2), (a0, 3))
    ]
    (multi,) = await _send(
        chain,
        Tx(
            a1,
            token,
            TOK.encode_call("multicall", [bytes.fromhex(c[2:]) for c in calls]),
            400_000,
            "multicall",
        ),
    )
    receipt = await env["rpc"].call("eth_getTransactionReceipt", multi)
    transfer_logs = [
        int(lg["logIndex"], 16)
        for lg in receipt["logs"]
        if lg["topics"][0] == TOK.events["Transfer"].topic0
    ]
    assert len(transfer_logs) == 3
    hit = await stub.VerifyTransfer(
        pb.VerifyTransferRequest(tx_hash=multi, to=a3, value=str(2 * TOKEN_UNIT))
    )
    assert hit.verdict == "verified" and hit.log_index == transfer_logs[1]
    # a reverted transaction: failed
    (reverted,) = await _send(chain, _transfer(token, a1, a2, 10**30 * TOKEN_UNIT))
    assert (await env["rpc"].call("eth_getTransactionReceipt", reverted))["status"] == "0x0"
    assert (
        await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=reverted))
    ).verdict == "failed"
    # an unknown hash: not_found
    unknown = await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash="0x" + "ab" * 32))
    assert unknown.verdict == "not_found"
    # final answers are cached: a second ask does not go to the chain
    for _ in range(FINAL_DEPTH):
        await chain.mine()
    first = await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=tx, to=a2))
    hits = env["verifier"].cache_hits
    again = await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=tx, to=a2))
    assert first.final and again == first and env["verifier"].cache_hits == hits + 1


async def test_a_transfer_orphaned_by_a_reorg_reads_reorged(env):
    chain, stub, (_a0, a1, a2, *_) = env["chain"], env["stub"], env["accounts"]
    token = env["manifest"].address("NovaToken")
    (tx,) = await _send(chain, _transfer(token, a1, a2, 7))
    await chain.mine()
    assert (await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=tx))).verdict == "verified"
    chain.forget_nonces()
    await force_reorg(env["rpc"], env["manifest"], 3, seed=5)
    after = await stub.VerifyTransfer(pb.VerifyTransferRequest(tx_hash=tx))
    assert after.verdict == "reorged", after
    assert "no longer canonical" in after.reasons[0]


async def test_contract_call_and_sender(env):
    chain, stub, (a0, a1, a2, *_) = env["chain"], env["stub"], env["accounts"]
    manifest = env["manifest"]
    token = manifest.address("NovaToken")
    (tx,) = await _send(chain, _transfer(token, a1, a2, 3))

    async def call(**kw: object) -> pb.TxVerdict:
        return await stub.VerifyContractCall(pb.VerifyContractCallRequest(tx_hash=tx, **kw))

    assert (await call(contract=token, method="transfer(address,uint256)")).verdict == "verified"
    assert (await call(contract=token.lower(), method="0xA9059CBB")).verdict == "verified"
    wrong = await call(contract=token, method="approve(address,uint256)")
    assert [m.field for m in wrong.mismatches] == ["method"]
    other = await call(contract=manifest.address("NovaStaking"))
    assert [m.field for m in other.mismatches] == ["contract"]
    deployment = manifest.contracts["NovaToken"]["tx"]
    created = await stub.VerifyContractCall(
        pb.VerifyContractCallRequest(tx_hash=deployment, contract=token)
    )
    assert created.verdict == "verified"
    who = await stub.VerifySender(pb.VerifySenderRequest(tx_hash=tx, expected_address=a1.lower()))
    assert who.verdict == "verified"
    not_who = await stub.VerifySender(pb.VerifySenderRequest(tx_hash=tx, expected_address=a0))
    assert not_who.verdict == "mismatch" and not_who.mismatches[0].actual.lower() == a1.lower()


async def test_message_signatures(env):
    stub, chain, a0 = env["stub"], env["chain"], env["accounts"][0]
    text = "log in to NovaToken, nonce 42"
    sig = "0x" + SIGNER.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")

    async def check(address: str, signature: str, **payload: str) -> pb.SignatureVerdict:
        return await stub.VerifyMessageSignature(
            pb.VerifyMessageSignatureRequest(address=address, signature=signature, **payload)
        )

    ok = await check(SIGNER.address, sig, message=text)
    assert ok.valid and ok.method == "eip191" and ok.recovered == SIGNER.address
    tampered = await check(SIGNER.address, sig, message=text + "!")
    assert not tampered.valid and "not " + SIGNER.address in tampered.reason
    flipped = sig[:-4] + ("00" if sig[-4:-2] != "00" else "11") + sig[-2:]
    assert not (await check(SIGNER.address, flipped, message=text)).valid
    hex_sig = "0x" + SIGNER.sign_message(
        encode_defunct(hexstr="0xdeadbeef")
    ).signature.hex().removeprefix("0x")
    assert (await check(SIGNER.address, hex_sig, message_hex="0xdeadbeef")).valid
    import json

    typed_sig = "0x" + SIGNER.sign_message(
        encode_typed_data(full_message=TYPED)
    ).signature.hex().removeprefix("0x")
    typed = await check(SIGNER.address, typed_sig, typed_data_json=json.dumps(TYPED))
    assert typed.valid and typed.method == "eip712"
    changed = json.loads(json.dumps(TYPED))
    changed["message"]["nonce"] = 43
    assert not (await check(SIGNER.address, typed_sig, typed_data_json=json.dumps(changed))).valid
    # ERC-1271: a contract wallet owned by SIGNER answers isValidSignature on chain
    data = WALLET.abi.encode_constructor(WALLET.bytecode, SIGNER.address)
    (rcpt,) = await chain.transact([Tx(a0, None, data, 2_000_000, "deploy wallet")])
    wallet = rcpt["contractAddress"]
    by_wallet = await check(wallet, sig, message=text)
    assert by_wallet.valid and by_wallet.method == "erc1271"
    other = "0x" + OTHER.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")
    refused = await check(wallet, other, message=text)
    assert not refused.valid and refused.method == "erc1271"


async def test_bad_input_is_named(env):
    stub = env["stub"]
    tx = "0x" + "ab" * 32
    cases = [
        (stub.VerifyTransfer, pb.VerifyTransferRequest(tx_hash="0x12"), "tx_hash"),
        (stub.VerifyTransfer, pb.VerifyTransferRequest(tx_hash=tx, to="0xzz"), "to"),
        (stub.VerifyTransfer, pb.VerifyTransferRequest(tx_hash=tx, value="1.5"), "value"),
        (
            stub.VerifyContractCall,
            pb.VerifyContractCallRequest(tx_hash=tx, contract=SIGNER.address, method="nonsense"),
            "method",
        ),
        (
            stub.VerifySender,
            pb.VerifySenderRequest(tx_hash=tx, expected_address=""),
            "expected_address",
        ),
        (
            stub.VerifyMessageSignature,
            pb.VerifyMessageSignatureRequest(address=SIGNER.address, signature="zz", message="m"),
            "signature",
        ),
        (
            stub.VerifyMessageSignature,
            pb.VerifyMessageSignatureRequest(
                address=SIGNER.address, signature="0x00", typed_data_json='{"types": 5}'
            ),
            "typed_data_json",
        ),
        (
            stub.VerifyMessageSignature,
            pb.VerifyMessageSignatureRequest(address=SIGNER.address, signature="0x00"),
            "message",
        ),
    ]
    for call, request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(request)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert info.value.details().startswith(f"{field}:"), info.value.details()
