"""Malformed and unwanted frames from the kernel side: each is dropped under its own counter,
no mbuf leaks, and the stack still answers afterwards."""

import os
import subprocess
import sys
import time

import frames as f
import harness

REPEAT = 3


def malformed_frames(stack_mac):
    k_mac, k_ip, s_ip = harness.KERNEL_MAC, harness.KERNEL_IP, harness.STACK_IP

    def eth(payload, ethertype=0x0800, dst=stack_mac):
        return f.ethernet(dst, k_mac, ethertype, payload)

    good_icmp = f.icmp_echo()
    # counter that must move -> the frame that moves it
    return {
        "drop_ipv4_bad_checksum": eth(f.ipv4(k_ip, s_ip, good_icmp, bad_checksum=True)),
        "drop_ipv4_bad_version": eth(f.ipv4(k_ip, s_ip, good_icmp, version=6)),
        "drop_ipv4_bad_header_length": eth(f.ipv4(k_ip, s_ip, good_icmp, ihl=4)),
        "drop_ipv4_bad_total_length": eth(f.ipv4(k_ip, s_ip, good_icmp, total_length=1400)),
        "drop_ipv4_truncated": eth(f.ipv4(k_ip, s_ip, good_icmp)[:12]),
        "drop_ipv4_fragment": eth(f.ipv4(k_ip, s_ip, good_icmp, flags_frag=0x2000)),
        "drop_ipv4_ttl_zero": eth(f.ipv4(k_ip, s_ip, good_icmp, ttl=0)),
        "drop_ipv4_not_for_us": eth(f.ipv4(k_ip, "198.18.0.99", good_icmp)),
        "drop_ipv4_invalid_source": eth(f.ipv4("127.0.0.1", s_ip, good_icmp)),
        "drop_ipv4_unsupported_protocol": eth(f.ipv4(k_ip, s_ip, b"\0" * 24, protocol=47)),
        "drop_icmp_bad_checksum": eth(f.ipv4(k_ip, s_ip, f.icmp_echo(bad_checksum=True))),
        "drop_icmp_truncated": eth(f.ipv4(k_ip, s_ip, b"\x08\x00\xf7\xff")),
        "drop_icmp_not_echo": eth(f.ipv4(k_ip, s_ip, f.icmp_echo(icmp_type=0))),
        "drop_arp_bad_hardware_type": eth(f.arp(1, k_mac, k_ip, "00:00:00:00:00:00", s_ip, htype=6), 0x0806),
        "drop_arp_truncated": eth(f.arp(1, k_mac, k_ip, "00:00:00:00:00:00", s_ip)[:20], 0x0806),
        "drop_arp_not_for_us": eth(f.arp(1, k_mac, k_ip, "00:00:00:00:00:00", "198.18.0.77"), 0x0806),
        "drop_eth_not_for_us": eth(f.ipv4(k_ip, s_ip, good_icmp), dst="02:00:00:00:00:99"),
        "drop_eth_unsupported_type": eth(b"\0" * 46, ethertype=0x88CC),
        "drop_eth_vlan_tagged": eth(b"\x00\x07\x08\x00" + f.ipv4(k_ip, s_ip, good_icmp), ethertype=0x8100),
        "drop_eth_stacked_vlan": eth(b"\x00\x07\x81\x00\x00\x08\x08\x00" + f.ipv4(k_ip, s_ip, good_icmp),
                                     ethertype=0x88A8),
    }


def send(stack, frame_list):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "send_frames.py")
    hex_lines = "\n".join(frame.hex() for frame in frame_list)
    result = stack.ns([sys.executable, script, stack.iface], input=hex_lines)
    assert int(result.stdout.strip()) == len(frame_list), result.stdout


def test_each_malformed_frame_is_counted_and_nothing_leaks():
    with harness.Stack("malformed") as stack:
        # Let the start-up ARP exchange settle, then take the baseline.
        stack.ns(["ping", "-c", "1", "-W", "2", harness.STACK_IP])
        before = stack.counters()
        in_use_before = stack.mempool_in_use()
        cases = malformed_frames(stack.stack_mac())
        for counter in cases:
            assert counter in before, f"no counter named {counter}"
        send(stack, [frame for frame in cases.values() for _ in range(REPEAT)])
        expected_rx = before["rx_frames"] + REPEAT * len(cases)
        stack.wait_for(lambda: stack.counters()["rx_frames"] >= expected_rx, what="frames to arrive")
        after = stack.counters()

        for name, value in after.items():
            delta = value - before[name]
            if name in cases:
                assert delta == REPEAT, f"{name} moved by {delta}, expected {REPEAT}"
            elif name.startswith("drop_"):
                assert delta == 0, f"{name} moved by {delta} but no frame was meant for it"
        assert after["icmp_echo_replies_out"] == before["icmp_echo_replies_out"], after
        # Every dropped frame went back to its pool.
        stack.wait_for(lambda: stack.mempool_in_use() == in_use_before, what="mempool in-use to return")

        # And the stack still answers.
        stack.ns(["ping", "-c", "2", "-i", "0.2", "-W", "2", harness.STACK_IP])
    assert stack.exit_code == 0, stack.output
    assert "NOT returned" not in stack.output, stack.output


def test_valid_echo_from_raw_socket_is_answered_once():
    """The same path as ping, frame built by hand: proves the raw sender reaches the stack."""
    with harness.Stack("rawecho") as stack:
        stack.ns(["ping", "-c", "1", "-W", "2", harness.STACK_IP])
        before = stack.counters()
        frame = f.ethernet(stack.stack_mac(), harness.KERNEL_MAC, 0x0800,
                           f.ipv4(harness.KERNEL_IP, harness.STACK_IP, f.icmp_echo(seq=7)))
        send(stack, [frame])
        stack.wait_for(lambda: stack.counters()["icmp_echo_replies_out"] == before["icmp_echo_replies_out"] + 1,
                       what="the echo reply")


if __name__ == "__main__":
    sys.exit(harness.main([test_valid_echo_from_raw_socket_is_answered_once,
                           test_each_malformed_frame_is_counted_and_nothing_leaks]))
