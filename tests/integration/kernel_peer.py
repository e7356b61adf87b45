"""One end of a TCP conversation on the kernel's stack, run inside the test namespace and driven
by lines on stdin; prints what happens as lines on stdout.

  python3 kernel_peer.py server PORT        accepts one connection and echoes what it receives
  python3 kernel_peer.py client IP PORT     connects (prints "connected" or "error ERRNO")

Commands on stdin: "send TEXT", "shutdown", "close", "quit". Events: "listening", "accepted",
"connected", "recv TEXT", "eof", "closed", "error NAME".
"""

import errno
import select
import socket
import sys


def say(text):
    print(text, flush=True)


def main():
    mode = sys.argv[1]
    if mode == "server":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", int(sys.argv[2])))
        listener.listen(8)
        say("listening")
        listener.settimeout(20)
        conn, _ = listener.accept()
        say("accepted")
        echo = True
    else:
        conn = socket.socket()
        conn.settimeout(10)
        try:
            conn.connect((sys.argv[2], int(sys.argv[3])))
        except OSError as e:
            say(f"error {errno.errorcode.get(e.errno, e.errno)}")
            return
        say("connected")
        echo = False
    conn.setblocking(False)
    open_for_reading = True
    deadline_polls = 0
    while deadline_polls < 600:  # bounded: 60 s at most
        deadline_polls += 1
        readable, _, _ = select.select([conn, sys.stdin] if open_for_reading else [sys.stdin], [], [], 0.1)
        if conn in readable:
            try:
                data = conn.recv(4096)
            except OSError as e:
                say(f"error {errno.errorcode.get(e.errno, e.errno)}")
                open_for_reading = False
                continue
            if data:
                say("recv " + data.decode())
                if echo:
                    conn.sendall(data)
            else:
                say("eof")
                open_for_reading = False
        if sys.stdin in readable:
            line = sys.stdin.readline().strip()
            if line.startswith("send "):
                conn.sendall(line[5:].encode())
            elif line == "shutdown":
                conn.shutdown(socket.SHUT_WR)
                say("shutdown")
            elif line == "close":
                conn.close()
                say("closed")
                return
            elif line in ("quit", ""):
                return


if __name__ == "__main__":
    main()
