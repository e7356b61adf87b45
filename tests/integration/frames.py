"""Hand-built Ethernet frames, well-formed and malformed, for the integration tests."""

import socket
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def ip(text):
    return socket.inet_aton(text)


def ethernet(dst, src, ethertype, payload):
    return mac(dst) + mac(src) + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, payload, protocol=1, ttl=64, version=4, ihl=5, total_length=None, flags_frag=0x4000,
         bad_checksum=False):
    length = total_length if total_length is not None else 20 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, length, 0x1234, flags_frag, ttl, protocol, 0,
                         ip(src), ip(dst))
    csum = checksum(header)
    if bad_checksum:
        csum ^= 0x5A5A
    header = header[:10] + struct.pack("!H", csum) + header[12:]
    return header + payload


def icmp_echo(ident=0x4242, seq=1, data=b"synwave-test-payload", icmp_type=8, bad_checksum=False):
    message = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + data
    csum = checksum(message)
    if bad_checksum:
        csum ^= 0x00FF
    return message[:2] + struct.pack("!H", csum) + message[4:]


def arp(op, sender_mac, sender_ip, target_mac, target_ip, htype=1):
    return struct.pack("!HHBBH6s4s6s4s", htype, 0x0800, 6, 4, op, mac(sender_mac), ip(sender_ip),
                       mac(target_mac), ip(target_ip))


def tcp(src, dst, sport, dport, seq, flags, ack=0, window=64240, options=b"", payload=b""):
    """A TCP segment from src to dst (dotted quads, for the pseudo-header checksum); flags as the
    header's flag byte (0x02 SYN, 0x10 ACK, ...); options padded to a multiple of 4 bytes."""
    options += b"\0" * (-len(options) % 4)
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0) + options
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    csum = checksum(pseudo + header + payload)
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload
