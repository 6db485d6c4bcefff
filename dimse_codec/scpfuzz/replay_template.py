#!/usr/bin/env python3
"""Replay a finding of ``dimse-codec fuzz``: @TITLE@

Sends the recorded bytes, step by step, to HOST PORT, prints what comes back after each step
(PDU by PDU), then checks whether the server still takes an association (and a C-ECHO). Only
the Python standard library is needed; the .bin files must sit next to this script.

    python3 replay.py HOST PORT [--timeout SECONDS]

Exit status: 0 the server is still alive afterwards, 1 it is down or no longer answers,
2 it could not be reached at all.
"""

# Written by dimse-codec from dimse_codec/scpfuzz/replay_template.py; standard library only.

import argparse
import socket
import struct
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS: list[tuple[str, str, str]] = []  # @STEPS@
"""(file, what it is, the answer a conforming server gives to it when valid)"""
PROBE: list[tuple[str, str, str]] = []  # @PROBE@
"""The liveness check: our A-ASSOCIATE-RQ, a C-ECHO-RQ (if Verification was accepted), release."""
TIMEOUT = 3.0  # @TIMEOUT@
NAMES = {
    1: "A-ASSOCIATE-RQ",
    2: "A-ASSOCIATE-AC",
    3: "A-ASSOCIATE-RJ",
    4: "P-DATA-TF",
    5: "A-RELEASE-RQ",
    6: "A-RELEASE-RP",
    7: "A-ABORT",
}


def describe(pdu: bytes) -> str:
    """One PDU as text: its type, length and what matters in it."""
    kind, length = pdu[0], struct.unpack(">L", pdu[2:6])[0]
    text = f"{NAMES.get(kind, f'PDU type 0x{kind:02X}')} ({length} bytes)"
    body = pdu[6:]
    if kind in (3, 7) and len(body) >= 4:
        text += f" result/source/reason {body[1]}/{body[2]}/{body[3]}"
    if kind == 4:
        pos, pdvs = 0, []
        while pos + 6 <= len(body):
            item = struct.unpack(">L", body[pos : pos + 4])[0]
            fragment = body[pos + 6 : pos + 4 + item]
            pdvs.append(f"context {body[pos + 4]} MCH {body[pos + 5]:02X}H {len(fragment)} bytes")
            status = fragment.find(bytes([0, 0, 0, 9, 2, 0, 0, 0]))
            if body[pos + 5] & 1 and status >= 0 and status + 10 <= len(fragment):
                code = struct.unpack("<H", fragment[status + 8 : status + 10])[0]
                pdvs[-1] += f", Status {code:04X}H"
            pos += 4 + max(item, 2)
        text += ": " + "; ".join(pdvs)
    return text


def read_pdus(
    sock: socket.socket, timeout: float, until_quiet: float = 0.3
) -> tuple[list[bytes], str, bytes]:
    """Read whole PDUs until one arrives and the line goes quiet, EOF, or the timeout."""
    deadline = time.monotonic() + timeout
    data, pdus, state = b"", [], "silence"
    while True:
        while len(data) >= 6 and len(data) >= 6 + struct.unpack(">L", data[2:6])[0]:
            end = 6 + struct.unpack(">L", data[2:6])[0]
            pdus.append(data[:end])
            data = data[end:]
        wait = deadline - time.monotonic()
        if pdus:
            wait = min(wait, until_quiet)
        if wait <= 0:
            return pdus, state, data
        sock.settimeout(wait)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return pdus, state, data
        except OSError as exc:
            return pdus, f"closed ({exc.__class__.__name__})", data
        if not chunk:
            return pdus, "closed", data
        data += chunk


def alive(host: str, port: int, timeout: float) -> bool:
    """Whether the server answers a new association (and a C-ECHO, and the release)."""
    for attempt in range(3):
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            print(f"  probe {attempt + 1}: cannot connect: {exc}")
            time.sleep(0.2 * (attempt + 1))
            continue
        with sock:
            for name, label, _expect in PROBE:
                try:
                    sock.sendall((HERE / name).read_bytes())
                except OSError as exc:
                    print(f"  probe {attempt + 1}: {label}: send failed: {exc}")
                    break
                pdus, state, _ = read_pdus(sock, timeout)
                if not pdus:
                    print(f"  probe {attempt + 1}: {label}: no answer ({state})")
                    if state == "silence":
                        return False
                    break
                print(f"  probe {attempt + 1}: {label} -> {describe(pdus[0])}")
                if pdus[0][0] in (3, 7):
                    return True
            else:
                return True
        time.sleep(0.2 * (attempt + 1))
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per answer")
    args = parser.parse_args()
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as exc:
        print(f"cannot connect to {args.host}:{args.port}: {exc}")
        return 2
    with sock:
        for number, (name, label, expect) in enumerate(STEPS, start=1):
            data = (HERE / name).read_bytes()
            print(f"step {number}: sending {label} ({len(data)} bytes; a valid one gets: {expect})")
            try:
                sock.sendall(data)
            except OSError as exc:
                print(f"  send failed: {exc}")
            pdus, state, rest = read_pdus(sock, args.timeout)
            for pdu in pdus:
                print(f"  <- {describe(pdu)}")
            if rest:
                print(f"  <- {len(rest)} bytes that make no whole PDU")
            if not pdus:
                print(f"  <- nothing: {state}")
            if state.startswith("closed"):
                print("  the server closed the connection")
                break
    print("is the server still alive?")
    if alive(args.host, args.port, args.timeout):
        print("server alive")
        return 0
    print("server down or not answering")
    return 1


if __name__ == "__main__":
    sys.exit(main())
