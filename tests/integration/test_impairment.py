"""synwave's [impairment] stage on a live engine: the kernel pings synwave through it."""

import re
import sys

import harness


class ImpairedStack(harness.Stack):
    """The usual daemon on net_tap, with an [impairment] section appended to its config."""

    def __init__(self, name, **impairment):
        super().__init__(name)
        with open(self.config_path, "a") as f:
            f.write("[impairment]\n" + "".join(f"{k} = {v}\n" for k, v in impairment.items()))


def test_rx_loss_drops_some_but_not_all_echo_requests():
    with ImpairedStack("imploss", loss_percent=30, seed=42, direction="rx") as stack:
        result = stack.ns(["ping", "-c", "40", "-i", "0.05", "-W", "1", harness.STACK_IP], check=False)
        match = re.search(r"(\d+) packets transmitted, (\d+) received", result.stdout)
        assert match, result.stdout + result.stderr
        sent, received = int(match.group(1)), int(match.group(2))
        assert 0 < received < sent, result.stdout
        counters = stack.counters()
        assert counters["impairment_rx_dropped"] > 0, counters
        assert counters["impairment_tx_dropped"] == 0, counters  # direction = rx only
        assert counters["icmp_echo_replies_out"] == received, counters
    assert stack.exit_code == 0, stack.output
    assert "NOT returned" not in stack.output, stack.output


def test_tx_delay_shows_in_the_round_trip_time():
    with ImpairedStack("impdelay", delay_us=30000, direction="tx") as stack:
        result = stack.ns(["ping", "-c", "5", "-i", "0.2", "-W", "2", harness.STACK_IP], check=False)
        assert "5 packets transmitted, 5 received" in result.stdout, result.stdout + result.stderr
        rtt_min = float(re.search(r"= ([\d.]+)/", result.stdout).group(1))
        assert rtt_min >= 30.0, result.stdout
        counters = stack.counters()
        assert counters["impairment_tx_delayed"] >= 5, counters
        assert counters["impairment_rx_delayed"] == 0, counters
    assert stack.exit_code == 0, stack.output
    assert "NOT returned" not in stack.output, stack.output


if __name__ == "__main__":
    sys.exit(harness.main([test_rx_loss_drops_some_but_not_all_echo_requests,
                           test_tx_delay_shows_in_the_round_trip_time]))
