"""Our Client, BlockingClient and Server together over 127.0.0.1: TLS, the association cap,
the per-PDU timeout against a slow sender, a large C-STORE spooled to disk, and Storage
Commitment with the report on a new association (SCP role accepted by the SCU's server)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from pydicom.dataset import Dataset, FileMetaDataset

from dimse_codec import C_STORE
from dimse_codec.association import build_request
from dimse_codec.dataset.codec import encode_dataset
from dimse_codec.net import AssociationRejectedError, BlockingClient, Client, NetError, Server
from dimse_codec.pdu import encode_pdu
from dimse_codec.services import (
    COMMITMENT_ACCEPTOR_ROLES,
    STORAGE_COMMITMENT,
    ServiceRequest,
    commitment_handler,
    commitment_request,
    read_instance,
    report_receiver,
)
from dimse_codec.services.contexts import NATIVE, STORAGE_COMMITMENT_INSTANCE
from dimse_codec.upper_layer import Timeouts

SC = "1.2.840.10008.5.1.4.1.1.7"
EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
VERIFICATION = "1.2.840.10008.1.1"


def run(coroutine: Any, timeout: float = 120.0) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def image(uid: str, pixels: bytes) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SC, uid
    ds.PatientName = "Doe^Jane"
    ds.Columns = 4096 if len(pixels) >= 4096 else len(pixels)
    ds.Rows, ds.BitsAllocated, ds.SamplesPerPixel = len(pixels) // ds.Columns, 8, 1
    ds.PixelData = pixels
    return ds


def test_blocking_client_echo_and_store() -> None:
    stored: list[bytes] = []

    def on_store(event: ServiceRequest) -> int:
        stored.append(bytes(event.dataset.PixelData))
        return 0x0000

    async def main() -> list[int]:
        async with Server({"C-STORE": on_store}) as server:
            ds = image("1.2.3.1", b"\x01\x02\x03\x04")

            def talk() -> list[int]:
                with BlockingClient("127.0.0.1", server.port, datasets=[ds]) as client:
                    return [client.echo().status, client.store(ds).status]

            return await asyncio.to_thread(talk)

    assert run(main()) == [0x0000, 0x0000]
    assert stored == [b"\x01\x02\x03\x04"]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    openssl = require_tool("openssl")  # skipped locally without it, a failure in CI
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def test_tls_between_our_client_and_server(tmp_path: Path) -> None:
    key, cert = _self_signed(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    client_side = ssl.create_default_context(cafile=str(cert))
    client_side.check_hostname = False

    async def main() -> tuple[int, int]:
        async with Server(ssl=server_side) as server:
            async with Client("127.0.0.1", server.port, ssl=client_side) as client:
                encrypted = (await client.echo()).status
            plain = Client("127.0.0.1", server.port, connect_timeout=5)
            with pytest.raises(NetError):  # a plain client cannot talk to the TLS server
                async with plain:
                    await plain.echo()

            def blocking() -> int:
                with BlockingClient("127.0.0.1", server.port, ssl=client_side) as c:
                    return c.echo().status

            return encrypted, await asyncio.to_thread(blocking)

    assert run(main()) == (0x0000, 0x0000)


def test_association_cap_rejects_transiently() -> None:
    async def main() -> tuple[str, int, int]:
        async with Server(max_associations=2) as server:
            first = await Client("127.0.0.1", server.port).connect()
            second = await Client("127.0.0.1", server.port).connect()
            with pytest.raises(AssociationRejectedError) as refused:
                await Client("127.0.0.1", server.port).connect()
            open_now = server.associations
            await first.release()
            for _ in range(100):  # bounded: the server counts the release
                if server.associations < 2:
                    break
                await asyncio.sleep(0.02)
            async with Client("127.0.0.1", server.port) as third:
                status = (await third.echo()).status
            await second.release()
            return refused.value.rejected.description, open_now, status

    description, open_now, status = run(main())
    assert description == (
        "rejected-transient by the DICOM UL service-provider (presentation related function): "
        "local-limit-exceeded"
    )
    assert open_now == 2 and status == 0x0000


def test_slow_sender_is_aborted_per_pdu() -> None:
    """One byte every 0.2 s: each read arrives well within 1 s, the PDU never does."""
    rq = encode_pdu(build_request("SLOW", "ANY-SCP", [("1.2.840.10008.1.1", list(NATIVE))]))

    async def main() -> tuple[int, bytes]:
        timeouts = Timeouts(artim=30, acse=30, dimse=None, network=1.0)
        async with Server(timeouts=timeouts) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(rq)  # a whole A-ASSOCIATE-RQ: the association is accepted
            answer = await reader.read(6)
            assert answer[:1] == b"\x02"
            await reader.readexactly(int.from_bytes(answer[2:6], "big"))
            sent = 0
            echo = b"\x04\x00\x00\x00\x00\x4c" + b"\x00" * 76  # a P-DATA-TF, never finished
            started = time.monotonic()
            got = b""
            for byte in echo:
                try:
                    writer.write(bytes([byte]))
                    await writer.drain()
                except ConnectionError:
                    break
                sent += 1
                try:
                    got = await asyncio.wait_for(reader.read(100), 0.2)
                except asyncio.TimeoutError:
                    continue
                break
            assert time.monotonic() - started < 10
            writer.close()
            return sent, got

    sent, got = run(main())
    assert got[:1] == b"\x07"  # A-ABORT
    assert 3 <= sent < 76  # it arrived while bytes were still trickling


def test_big_c_store_is_spooled_not_held(tmp_path: Path) -> None:
    """64 MiB to the server: it goes to a spool file, and memory does not grow with it."""
    size = 64 << 20
    kept = tmp_path / "kept.bin"
    spool = tmp_path / "spool"
    spool.mkdir()

    def on_store(event: ServiceRequest) -> int:
        assert event.dataset_path is not None  # spooled to disk, handed over as a file
        event.dataset_path.rename(kept)
        return 0x0000

    data = encode_dataset(image("1.2.3.64", bytes(range(256)) * (size // 256)), EXPLICIT)

    async def store() -> tuple[int, int]:
        async with Server({"C-STORE": on_store}, spool_dir=spool) as server:  # noqa: SIM117
            async with Client("127.0.0.1", server.port, contexts=[(SC, [EXPLICIT])]) as client:
                request = C_STORE(
                    AffectedSOPClassUID=SC, AffectedSOPInstanceUID="1.2.3.64", Priority=0
                )
                tracemalloc.start()
                try:
                    response = await client.send(request, data)
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
                return response.status, peak

    status, peak = run(store(), 300)
    assert status == 0x0000
    assert kept.read_bytes() == data
    assert peak < size // 16, peak  # neither side copies the data set into the heap
    assert list(spool.iterdir()) == []


async def with_commitment_scp(
    reports: list[tuple[int, Dataset]], talk: Callable[[int], Awaitable[Any]]
) -> Any:
    """A commitment SCP that reports on a new association to a report receiver (the SCU's side,
    AE COMMIT-SCU); ``talk(scp_port)`` plays the requestor, then the report is awaited."""
    receiver = Server(
        {"N-EVENT-REPORT": report_receiver(lambda kind, info: reports.append((kind, info)))},
        ae_title="COMMIT-SCU",
        supported={STORAGE_COMMITMENT: list(NATIVE)},
    )
    async with receiver:
        scp = Server(
            {"N-ACTION": commitment_handler(report_on="new")},
            peers={"COMMIT-SCU": ("127.0.0.1", receiver.port)},
        )
        async with scp:
            result = await talk(scp.port)
            for _ in range(250):  # bounded wait for the report association
                if reports:
                    break
                await asyncio.sleep(0.02)
    return result


def test_storage_commitment_report_on_a_new_association() -> None:
    reports: list[tuple[int, Dataset]] = []

    async def talk(port: int) -> int:
        async with Client(
            "127.0.0.1",
            port,
            calling_ae_title="COMMIT-SCU",
            contexts=[(STORAGE_COMMITMENT, list(NATIVE))],
        ) as client:
            request, info = commitment_request([(SC, "1.2.3.1")], "1.2.3.77")
            return (await client.send(request, info)).status

    assert run(with_commitment_scp(reports, talk)) == 0x0000
    ((kind, report),) = reports
    assert kind == 1 and report.TransactionUID == "1.2.3.77"
    assert COMMITMENT_ACCEPTOR_ROLES[STORAGE_COMMITMENT] == (True, True)
    assert STORAGE_COMMITMENT_INSTANCE.startswith(STORAGE_COMMITMENT)


def test_a_native_file_goes_in_the_other_native_syntax_when_only_that_one_is_accepted(
    tmp_path: Path,
) -> None:
    """An Implicit VR file whose own syntax was refused travels re-encoded in the accepted
    Explicit VR context, never as implicit bytes labelled explicit."""
    ds = image("1.2.3.77", b"\x05\x06\x07\x08")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = SC, "1.2.3.77"
    ds.file_meta.TransferSyntaxUID = IMPLICIT
    path = tmp_path / "implicit.dcm"
    ds.save_as(path, enforce_file_format=True)
    instance = read_instance(path)
    assert instance.transfer_syntax == IMPLICIT
    received: list[tuple[str, bytes, str]] = []

    def on_store(event: ServiceRequest) -> int:
        assert event.context is not None
        received.append(
            (str(event.dataset.PatientName), bytes(event.dataset.PixelData),
             event.context.transfer_syntax)
        )  # fmt: skip
        return 0x0000

    async def main() -> int:
        supported = {SC: [EXPLICIT], VERIFICATION: [IMPLICIT]}
        async with Server({"C-STORE": on_store}, supported=supported) as server:
            # the file's own context (SC, implicit) is refused; the native Dataset's is accepted
            items = [instance, image("1.2.3.78", b"\x00\x00")]
            async with Client("127.0.0.1", server.port, datasets=items) as client:
                return (await client.store(instance)).status

    assert run(main()) == 0x0000
    assert received == [("Doe^Jane", b"\x05\x06\x07\x08", EXPLICIT)]


def test_send_buffers_gathers_without_joining_and_survives_partial_sends() -> None:
    """More buffers than one ``sendmsg`` takes, through a small socket buffer, arrive in order."""
    import socket
    import threading

    from dimse_codec.net._common import send_buffers

    buffers = [bytes([i % 251]) * (1 + i * 37 % 9000) for i in range(1500)]
    buffers.insert(7, b"")  # an empty buffer is skipped
    expected = b"".join(buffers)
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # sendmsg sends part of them
    received = bytearray()

    def read() -> None:
        while len(received) < len(expected):
            chunk = right.recv(1 << 16)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    with left, right:
        send_buffers(left, [memoryview(b) for b in buffers])
        reader.join(60)
    assert not reader.is_alive() and bytes(received) == expected


def test_a_commitment_report_outlives_an_association_released_at_once() -> None:
    """The N-ACTION and the A-RELEASE-RQ arrive in one read: the release ends the association
    before the report's new association is made, and the report must still go out."""
    import socket

    from dimse_codec.upper_layer import Connection

    reports: list[tuple[int, Dataset]] = []

    def hasty_requestor(port: int) -> str:
        conn = Connection("requestor")
        conn.request_association("COMMIT-SCU", "ANY-SCP", [(STORAGE_COMMITMENT, list(NATIVE))])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            conn.transport_connected()
            sock.sendall(conn.data_to_send())
            for _ in range(100):  # bounded: until the association is accepted
                if conn.state == "Sta6":
                    break
                conn.receive_data(sock.recv(1 << 16))
            request, info = commitment_request([(SC, "1.2.3.1")], "1.2.3.78")
            conn.send_message(request, dataset=info)
            conn.release()  # at once, before any response: one write for both
            sock.sendall(conn.data_to_send())
            for _ in range(100):  # bounded: until the release completes
                data = sock.recv(1 << 16)
                if not data:
                    break
                conn.receive_data(data)
                sock.sendall(conn.data_to_send())
                if conn.state == "Sta1":
                    break
        return conn.state

    async def talk(port: int) -> str:
        return await asyncio.to_thread(hasty_requestor, port)

    assert run(with_commitment_scp(reports, talk)) == "Sta1"
    ((kind, report),) = reports
    assert kind == 1 and report.TransactionUID == "1.2.3.78"
