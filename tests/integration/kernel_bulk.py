"""The kernel's side of a bulk transfer, with the pattern and the JSON of synwave-bulk
(app/synwave-bulk/pattern.h): run inside a test namespace, or anywhere as a kernel peer.

  python3 kernel_bulk.py listen PORT [--send N] [--expect N] [--connections K] [--timeout S]
  python3 kernel_bulk.py connect IP:PORT [--send N] [--expect N] [--connections K] [--timeout S]

On each connection it sends N bytes of the pattern (default 0) and then shuts down its sending
side, while reading until end of stream and checking every byte: the byte at stream offset i must
be block[i % 65521], the block filled by xorshift64* from seed 0x5EED0F5A1BEC0DE5, 8 bytes at a
time, little-endian. `listen` prints "listening" once it listens. One JSON line per connection on
stdout; exit 0 when all verified (and received == --expect when given), 1 on failure, 2 when
--timeout (default 120 s, the whole run) expired.
"""

import argparse
import errno
import json
import select
import socket
import sys
import time

BLOCK_SIZE = 65521
SEED = 0x5EED0F5A1BEC0DE5
MASK = (1 << 64) - 1
RX_BUFFER = 256 * 1024


def make_block():
    x = SEED
    out = bytearray()
    for _ in range((BLOCK_SIZE + 7) // 8):
        x ^= x >> 12
        x ^= (x << 25) & MASK
        x ^= x >> 27
        out += ((x * 0x2545F4914F6CDD1D) & MASK).to_bytes(8, "little")
    return bytes(out[:BLOCK_SIZE])


BLOCK = make_block()
DOUBLED = BLOCK + BLOCK          # any window of <= BLOCK_SIZE bytes is one slice
DOUBLED_VIEW = memoryview(DOUBLED)


def check(offset, data):
    """The stream offset of the first byte of data (at stream offset `offset`) that differs from
    the pattern, or None. Compares slices (memcmp); per byte only to locate a difference."""
    done = 0
    while done < len(data):
        start = (offset + done) % BLOCK_SIZE
        n = min(BLOCK_SIZE, len(data) - done)
        piece = bytes(data[done:done + n])
        if piece != DOUBLED[start:start + n]:
            for i in range(n):
                if piece[i] != DOUBLED[start + i]:
                    return offset + done + i
        done += n
    return None


class Timeout(Exception):
    pass


def transfer(conn, send_bytes, deadline):
    """Sends and receives on one connected socket until both directions are done."""
    result = {"sent": 0, "received": 0, "first_mismatch": None, "error": None}
    conn.setblocking(False)
    buf = bytearray(RX_BUFFER)
    view = memoryview(buf)
    shut = eof = False
    poller = select.poll()
    started = time.monotonic()
    try:
        while not (shut and eof):
            if not shut and result["sent"] >= send_bytes:
                conn.shutdown(socket.SHUT_WR)
                shut = True
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout()
            poller.register(conn, (0 if eof else select.POLLIN) | (0 if shut else select.POLLOUT))
            events = poller.poll(min(remaining, 1.0) * 1000)
            if not events:
                continue
            mask = events[0][1]
            if mask & (select.POLLIN | select.POLLERR | select.POLLHUP) and not eof:
                for _ in range(64):
                    try:
                        n = conn.recv_into(buf)
                    except BlockingIOError:
                        break
                    if n == 0:
                        eof = True
                        break
                    if result["first_mismatch"] is None:
                        result["first_mismatch"] = check(result["received"], view[:n])
                    result["received"] += n
            if mask & (select.POLLOUT | select.POLLERR) and not shut:
                for _ in range(64):
                    sent = result["sent"]
                    if sent >= send_bytes:
                        break
                    start = sent % BLOCK_SIZE
                    n = min(BLOCK_SIZE, send_bytes - sent)
                    try:
                        k = conn.send(DOUBLED_VIEW[start:start + n])
                    except BlockingIOError:
                        break
                    result["sent"] += k
    except Timeout:
        result["error"] = "ETIMEDOUT"
    except OSError as e:
        result["error"] = errno.errorcode.get(e.errno, str(e.errno))
    result["seconds"] = time.monotonic() - started
    if result["error"]:
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
    conn.close()
    return result


def report(role, index, result, expect):
    verified = result["first_mismatch"] is None and result["error"] is None
    moved = max(result["sent"], result["received"])
    line = {"role": role, "connection": index, "sent": result["sent"], "received": result["received"],
            "verified": verified, "first_mismatch": result["first_mismatch"],
            "seconds": round(result["seconds"], 6),
            "gbit_per_s": round(moved * 8 / result["seconds"] / 1e9, 4) if result["seconds"] > 0 else 0.0,
            "error": result["error"]}
    if expect is not None and result["received"] != expect:
        line["expected"] = expect
    print(json.dumps(line), flush=True)
    return verified and (expect is None or result["received"] == expect)


def connect(target, deadline):
    host, _, port = target.rpartition(":")
    while True:
        conn = socket.socket()
        conn.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
        try:
            conn.connect((host, int(port)))
            return conn
        except (ConnectionRefusedError, socket.timeout, OSError) as e:
            conn.close()
            if time.monotonic() + 0.1 >= deadline:
                raise Timeout() from e
            time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["listen", "connect"])
    parser.add_argument("where", help="PORT to listen on, or IP:PORT to connect to")
    parser.add_argument("--send", type=int, default=0)
    parser.add_argument("--expect", type=int)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    role = "server" if args.mode == "listen" else "client"
    ok = True
    timed_out = False
    listener = None
    if args.mode == "listen":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", int(args.where)))
        listener.listen(16)
        print("listening", flush=True)
    for index in range(1, args.connections + 1):
        try:
            if listener is not None:
                listener.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    conn, _ = listener.accept()
                except socket.timeout as e:
                    raise Timeout() from e
            else:
                conn = connect(args.where, deadline)
        except Timeout:
            report(role, index, {"sent": 0, "received": 0, "first_mismatch": None, "error": "ETIMEDOUT",
                                 "seconds": 0.0}, args.expect)
            timed_out = True
            break
        result = transfer(conn, args.send, deadline)
        ok = report(role, index, result, args.expect) and ok
        if result["error"] == "ETIMEDOUT":
            timed_out = True
            break
        if result["error"]:
            ok = False
            break
    return 2 if timed_out else 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
