"""Echo servers and clients on Python's socket module and on asyncio, for test_preload.py.

The same file runs under synwave-run (Debian's /usr/bin/python3 with libsynwave-preload.so) and on
the kernel in the test namespace, so each side of a case is the same code:

  preload_echo.py threads-server HOST PORT CONNECTIONS    a thread per accepted connection
  preload_echo.py asyncio-server HOST PORT CONNECTIONS    asyncio.start_server
  preload_echo.py threads-client HOST PORT CONNECTIONS BYTES
  preload_echo.py asyncio-client HOST PORT CONNECTIONS BYTES

A server prints "listening PORT", echoes every byte of CONNECTIONS connections until each peer's
end of stream, then prints "echoed N" (the total) and exits. A client opens CONNECTIONS connections
at once; on each it sends BYTES bytes of a pattern seeded by the connection's number (in chunks of
varying size, while reading the echo back), shuts down its sending side, reads to the end of stream
and compares. It prints one line "ok connections=C bytes=B" when every byte came back in order,
otherwise "mismatch ..." lines, and exits 1. Everything is bounded by a 30 s timeout.
"""

import asyncio
import hashlib
import random
import socket
import sys
import threading

TIMEOUT = 30


def pattern(index, size):
    return random.Random(1000 + index).randbytes(size)


def chunks(data, index):
    """Splits data into pieces of 1..65536 bytes, sizes from a generator seeded by index."""
    rng = random.Random(index)
    offset = 0
    while offset < len(data):
        n = rng.choice((1, 7, 100, 1448, 4096, 65536, rng.randint(1, 32768)))
        yield data[offset:offset + n]
        offset += n


def report(results, connections, size):
    bad = [r for r in results if r is not True]
    for r in bad:
        print(r, flush=True)
    if bad or len(results) != connections:
        print(f"failed: {len(bad)} mismatched, {connections - len(results)} missing", flush=True)
        return 1
    print(f"ok connections={connections} bytes={size}", flush=True)
    return 0


def check(index, sent, got):
    if got == sent:
        return True
    first = next((i for i, (a, b) in enumerate(zip(sent, got)) if a != b), min(len(sent), len(got)))
    return (f"mismatch connection={index} sent={len(sent)} received={len(got)} first_difference={first} "
            f"sent_sha256={hashlib.sha256(sent).hexdigest()[:16]} received_sha256={hashlib.sha256(got).hexdigest()[:16]}")


# --- threads ------------------------------------------------------------------------------------

def threads_server(host, port, connections):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(64)
    srv.settimeout(TIMEOUT)
    print(f"listening {port}", flush=True)
    totals = []

    def serve(conn):
        conn.settimeout(TIMEOUT)
        total = 0
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
                total += len(data)
        totals.append(total)

    threads = []
    for _ in range(connections):
        conn, _ = srv.accept()
        thread = threading.Thread(target=serve, args=(conn,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(TIMEOUT)
    srv.close()
    print(f"echoed {sum(totals)}", flush=True)
    return 0 if len(totals) == connections else 1


def threads_client(host, port, connections, size):
    results = []

    def one(index):
        sent = pattern(index, size)
        received = bytearray()
        try:
            with socket.create_connection((host, port), timeout=TIMEOUT) as conn:
                errors = []

                def reader():
                    try:
                        while True:
                            data = conn.recv(65536)
                            if not data:
                                break
                            received.extend(data)
                    except OSError as error:
                        errors.append(f"connection={index}: recv: {type(error).__name__}: {error}")
                thread = threading.Thread(target=reader)
                thread.start()
                for piece in chunks(sent, index):
                    conn.sendall(piece)
                conn.shutdown(socket.SHUT_WR)
                thread.join(TIMEOUT)
            results.append(errors[0] if errors else check(index, sent, bytes(received)))
        except OSError as error:
            results.append(f"connection={index}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    return report(results, connections, size)


# --- asyncio ------------------------------------------------------------------------------------

async def asyncio_server(host, port, connections):
    totals = []
    finished = asyncio.Event()

    async def serve(reader, writer):
        total = 0
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            total += len(data)
        writer.close()
        await writer.wait_closed()
        totals.append(total)
        if len(totals) == connections:
            finished.set()

    server = await asyncio.start_server(serve, host, port, reuse_address=True, family=socket.AF_INET)
    print(f"listening {port}", flush=True)
    await asyncio.wait_for(finished.wait(), TIMEOUT)
    server.close()
    await server.wait_closed()
    print(f"echoed {sum(totals)}", flush=True)
    return 0


async def asyncio_client(host, port, connections, size):
    async def one(index):
        sent = pattern(index, size)
        try:
            reader, writer = await asyncio.open_connection(host, port)

            async def send():
                for piece in chunks(sent, index):
                    writer.write(piece)
                    await writer.drain()
                writer.write_eof()

            sender = asyncio.create_task(send())
            got = await reader.read()  # to the end of stream
            await sender
            writer.close()
            await writer.wait_closed()
            return check(index, sent, got)
        except OSError as error:
            return f"connection={index}: {type(error).__name__}: {error}"

    results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(connections))), TIMEOUT)
    return report(list(results), connections, size)


def main(argv):
    mode, host, port, connections = argv[0], argv[1], int(argv[2]), int(argv[3])
    if mode == "threads-server":
        return threads_server(host, port, connections)
    if mode == "threads-client":
        return threads_client(host, port, connections, int(argv[4]))
    if mode == "asyncio-server":
        return asyncio.run(asyncio_server(host, port, connections))
    if mode == "asyncio-client":
        return asyncio.run(asyncio_client(host, port, connections, int(argv[4])))
    sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
