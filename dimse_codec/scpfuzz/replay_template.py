#!/usr/bin/env python3
"""Replay a finding of ``dimse-codec fuzz``: @TITLE@

Sends the recorded bytes, step by step, to HOST PORT, prints what comes back after each step
(PDU by PDU; Pending responses are read up to the final one, and requests the server sends back,
such as a C-GET's C-STORE-RQ sub-operations or an N-EVENT-REPORT-RQ, are answered with
Success), then checks whether the server still takes an association (and a C-ECHO), and
says whether the classified behaviour recurred: the same answer (kind, and status class for a
response) to the deciding step, or the same state of the server afterwards (down or no longer
answering for a crash or a hang, refusing the association or C-ECHO for refuses-valid). Only
the Python standard library is needed; the .bin files must sit next to this script.

    python3 replay.py HOST PORT [--timeout SECONDS]

Exit status: 0 the behaviour recurred, 1 it did not, 2 the server could not be reached at all.
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
EXPECTED: dict[str, str] = {}  # @EXPECTED@
"""What was classified: classification, deciding step (1-based, "" for none), its answer kind
and status class, and the server's health afterwards."""
KINDS = {2: "accepted", 3: "rejected", 4: "response", 6: "released", 7: "aborted"}
NAMES = {
    1: "A-ASSOCIATE-RQ",
    2: "A-ASSOCIATE-AC",
    3: "A-ASSOCIATE-RJ",
    4: "P-DATA-TF",
    5: "A-RELEASE-RQ",
    6: "A-RELEASE-RP",
    7: "A-ABORT",
}


def status_of(pdu: bytes) -> int | None:
    """The Status (0000,0900) of a P-DATA-TF's last command fragment, if it holds one."""
    body, pos = pdu[6:], 0
    while pos + 6 <= len(body):
        item = struct.unpack(">L", body[pos : pos + 4])[0]
        fragment = body[pos + 6 : pos + 4 + item]
        found = fragment.find(bytes([0, 0, 0, 9, 2, 0, 0, 0]))
        if body[pos + 5] & 3 == 3 and found >= 0 and found + 10 <= len(fragment):
            code: int = struct.unpack("<H", fragment[found + 8 : found + 10])[0]
            return code
        pos += 4 + max(item, 2)
    return None


COMMANDS: dict[int, bytes] = {}
"""Command fragments of the server's messages so far, by presentation context."""
REPLIES: dict[int, bytes] = {}
"""Our Success response to a request of the server, sent once its data set has arrived."""
ANSWERED = [0]
"""How many requests of the server were answered."""


def elements(command: bytes) -> dict[int, bytes]:
    """A command set's elements (Implicit VR Little Endian, group 0000) by element number."""
    out, pos = {}, 0
    while pos + 8 <= len(command):
        group, element, length = struct.unpack("<HHL", command[pos : pos + 8])
        if group != 0:
            break
        out[element] = command[pos + 8 : pos + 8 + length]
        pos += 8 + length
    return out


def reply_to(command: bytes, context: int) -> bytes:
    """The P-DATA-TF of our Success response to a request command set (b"" when none is due:
    a response, a C-CANCEL-RQ, or no Message ID)."""
    found = elements(command)
    if len(found.get(0x0100, b"")) != 2 or len(found.get(0x0110, b"")) != 2:
        return b""
    field = struct.unpack("<H", found[0x0100])[0]
    if field & 0x8000 or field == 0x0FFF:
        return b""
    values = {0x0100: struct.pack("<H", field | 0x8000), 0x0120: found[0x0110]}
    values[0x0800], values[0x0900] = struct.pack("<H", 0x0101), struct.pack("<H", 0)
    for element in (0x0002, 0x1000, 0x1002):  # SOP class, SOP instance, event type
        if element in found:
            values[element] = found[element]
    body = b"".join(
        struct.pack("<HHL", 0, element, len(value)) + value
        for element, value in sorted(values.items())
    )
    command = struct.pack("<HHLL", 0, 0, 4, len(body)) + body
    return struct.pack(">BBLLBB", 4, 0, len(command) + 6, len(command) + 2, context, 3) + command


def answer_requests(sock: socket.socket, pdu: bytes) -> None:
    """Answer with Success each request of the server this P-DATA-TF completes."""
    body, pos = pdu[6:], 0
    while pos + 6 <= len(body):
        item = struct.unpack(">L", body[pos : pos + 4])[0]
        context, header = body[pos + 4], body[pos + 5]
        fragment = body[pos + 6 : pos + 4 + item]
        pos += 4 + max(item, 2)
        if header & 1:  # a command fragment
            COMMANDS[context] = COMMANDS.get(context, b"") + fragment
            if not header & 2:
                continue
            command = COMMANDS.pop(context)
            reply = reply_to(command, context)
            if reply and elements(command).get(0x0800) != struct.pack("<H", 0x0101):
                REPLIES[context] = reply  # a data set follows: answer once it has come
            elif reply:
                send_reply(sock, reply)
        elif header & 2 and context in REPLIES:  # the last fragment of the data set
            send_reply(sock, REPLIES.pop(context))


def send_reply(sock: socket.socket, reply: bytes) -> None:
    """Send one of our responses, counting it."""
    try:
        sock.sendall(reply)
    except OSError as exc:
        print(f"  answering the server's request failed: {exc}")
        return
    ANSWERED[0] += 1


def status_class(code: int) -> str:
    """A status code's class by PS3.7 Annex C, as dimse-codec names it."""
    if code == 0x0000:
        return "success"
    if code in (0x0001, 0x0107, 0x0116) or code >> 12 == 0xB:
        return "warning"
    if 0x0100 <= code <= 0x02FF or code >> 12 in (0xA, 0xC):
        return "failure"
    if code == 0xFE00:
        return "cancel"
    return "pending" if code in (0xFF00, 0xFF01) else "unknown"


def answer_of(pdus: list[bytes], state: str) -> tuple[str, str]:
    """What a step was answered, as the fuzzer classifies it: (kind, status class).

    Pending responses come before the answer: it is the final response's status.
    """
    status = ""
    for pdu in pdus:
        kind = KINDS.get(pdu[0], "other")
        if kind != "response":
            return kind, ""
        code = status_of(pdu)
        if code is not None:
            status = status_class(code)
            if status != "pending":
                return kind, status
    if pdus:
        return "response", status
    return ("closed", "") if state.startswith("closed") else ("silence", "")


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
    """Read whole PDUs until one arrives and the line goes quiet, EOF, or the timeout.

    While the last response read is Pending, or a request of the server was just answered,
    the line going quiet does not end the read: the final response is still due.
    """
    deadline = time.monotonic() + timeout
    data, pdus, state = b"", [], "silence"
    waiting = False
    while True:
        while len(data) >= 6 and len(data) >= 6 + struct.unpack(">L", data[2:6])[0]:
            end = 6 + struct.unpack(">L", data[2:6])[0]
            pdus.append(data[:end])
            data = data[end:]
            if pdus[-1][0] == 4:
                answered = ANSWERED[0]
                answer_requests(sock, pdus[-1])
                code = status_of(pdus[-1])
                if code is not None:
                    waiting = status_class(code) == "pending"
                if ANSWERED[0] > answered:
                    waiting, deadline = True, time.monotonic() + timeout
                elif waiting:
                    deadline = time.monotonic() + timeout
        wait = deadline - time.monotonic()
        if pdus and not waiting:
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


def probe(host: str, port: int, timeout: float) -> str:
    """One liveness attempt: alive, down (no connection, or closed before any answer),
    refusing (association or C-ECHO answered A-ABORT, A-ASSOCIATE-RJ or closed), unresponsive."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        print("  probe: connect timed out")
        return "unresponsive"
    except OSError as exc:
        print(f"  probe: cannot connect: {exc}")
        return "down"
    with sock:
        for number, (name, label, expect) in enumerate(PROBE):
            try:
                sock.sendall((HERE / name).read_bytes())
            except OSError as exc:
                print(f"  probe: {label}: send failed: {exc}")
            pdus, state, _ = read_pdus(sock, timeout)
            kind, _ = answer_of(pdus, state)
            print(f"  probe: {label} -> {describe(pdus[0]) if pdus else state}")
            if expect not in ("association", "response"):
                continue  # the release: its answer does not matter
            if number == 0 and kind == "closed":
                return "down"
            if kind in ("aborted", "rejected", "closed"):
                return "refusing"
            if kind != ("accepted" if expect == "association" else "response"):
                return "unresponsive"
    return "alive"


def health(host: str, port: int, timeout: float) -> str:
    """The server after the replay, in up to three attempts (alive or refusing is final)."""
    state = "unresponsive"
    for attempt in range(3):
        state = probe(host, port, timeout)
        if state in ("alive", "refusing"):
            return state
        time.sleep(0.2 * (attempt + 1))
    return state


def recurred(answers: list[tuple[str, str]], after: str) -> bool:
    """Whether the replay shows what was classified (see the module documentation)."""
    classification = EXPECTED.get("classification", "")
    if classification in ("crash", "hang") and after in ("down", "unresponsive"):
        return True
    if classification == "crash":
        return False
    if classification == "refuses-valid":
        return after == "refusing"
    step = int(EXPECTED.get("step") or len(answers))
    if not 1 <= step <= len(answers):
        return False
    kind, status = answers[step - 1]
    if classification == "hang":
        return kind == "silence"
    return (kind, status) == (EXPECTED.get("answer"), EXPECTED.get("status_class", ""))


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
    answers: list[tuple[str, str]] = []
    with sock:
        for number, (name, label, expect) in enumerate(STEPS, start=1):
            data = (HERE / name).read_bytes()
            print(f"step {number}: sending {label} ({len(data)} bytes; a valid one gets: {expect})")
            try:
                sock.sendall(data)
            except OSError as exc:
                print(f"  send failed: {exc}")
            answered = ANSWERED[0]
            pdus, state, rest = read_pdus(sock, args.timeout)
            for pdu in pdus:
                print(f"  <- {describe(pdu)}")
            if ANSWERED[0] > answered:
                print(f"  -> answered {ANSWERED[0] - answered} request(s) of the server: Success")
            if rest:
                print(f"  <- {len(rest)} bytes that make no whole PDU")
            if not pdus:
                print(f"  <- nothing: {state}")
            answers.append(answer_of(pdus, state))
            if state.startswith("closed"):
                print("  the server closed the connection")
                break
    print("is the server still alive?")
    after = health(args.host, args.port, args.timeout)
    gone = after in ("down", "unresponsive")
    print(f"server down or not answering ({after})" if gone else f"server {after}")
    wanted = EXPECTED.get("classification", "?")
    if EXPECTED.get("step"):
        wanted += f", step {EXPECTED['step']} answered {EXPECTED.get('answer')}"
        wanted += f" ({EXPECTED['status_class']})" if EXPECTED.get("status_class") else ""
    wanted += f", server {EXPECTED.get('health', '?')} afterwards"
    got = "; ".join(
        f"step {n} answered {' '.join(filter(None, a))}" for n, a in enumerate(answers, 1)
    )
    if recurred(answers, after):
        print(f"recurred: {wanted}")
        return 0
    print(f"did not recur: was {wanted}; now {got or 'nothing sent'}, server {after}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
