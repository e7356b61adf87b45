"""Sends raw Ethernet frames (hex, one per line on stdin) out of an interface: run it inside the
test namespace with `ip netns exec`, so the frames reach synwave through the TAP."""

import socket
import sys

iface = sys.argv[1]
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
    sock.bind((iface, 0))
    sent = 0
    for line in sys.stdin:
        line = line.strip()
        if line:
            sock.send(bytes.fromhex(line))
            sent += 1
print(sent)
