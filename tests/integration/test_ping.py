"""The kernel pings synwave over net_tap and learns its MAC through ARP."""

import sys

import harness


def test_ping_is_answered_and_kernel_learns_stack_mac():
    with harness.Stack("ping") as stack:
        result = stack.ns(["ping", "-c", "3", "-i", "0.2", "-W", "2", harness.STACK_IP], check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "3 packets transmitted, 3 received" in result.stdout, result.stdout
        assert "ttl=64" in result.stdout, result.stdout

        stack_mac = stack.stack_mac()
        assert stack_mac != harness.KERNEL_MAC
        entry = harness.neighbour_entry(stack, harness.STACK_IP)
        assert entry is not None, "the kernel has no neighbour entry for synwave"
        assert entry[0] == stack_mac, f"kernel neighbour {entry} != stack MAC {stack_mac}"
        assert entry[1] in ("REACHABLE", "STALE", "DELAY"), entry

        counters = stack.counters()
        assert counters["icmp_echo_requests_in"] == 3, counters
        assert counters["icmp_echo_replies_out"] == 3, counters
        assert counters["arp_requests_in"] >= 1, counters
        assert counters["arp_replies_out"] == counters["arp_requests_in"], counters
        assert counters["arp_gratuitous_out"] == 1, counters
    assert stack.exit_code == 0, stack.output
    assert "all 4095 mbufs returned" in stack.output, stack.output


def test_sigterm_stops_cleanly_and_returns_every_mbuf():
    stack = harness.Stack("stop").start()
    try:
        stack.ns(["ping", "-c", "2", "-i", "0.2", harness.STACK_IP])
    finally:
        code = stack.stop()
    assert code == 0, stack.output
    assert "synwave: stopped" in stack.output, stack.output
    assert "NOT returned" not in stack.output, stack.output


if __name__ == "__main__":
    sys.exit(harness.main([test_ping_is_answered_and_kernel_learns_stack_mac,
                           test_sigterm_stops_cleanly_and_returns_every_mbuf]))
