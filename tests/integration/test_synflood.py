"""synwave survives a SYN flood: synwave-httpd on net_tap, the Linux kernel in the namespace as the
legitimate client, and a bounded flood of spoofed SYNs (syn_flood.py, raw frames from 198.19.0.0/16)
at its listener, kept up while the client connects.

With tcp_max_syn_backlog = 64 and tcp_syncookies = 1 the first 64 flood SYNs stay half-open (their
SYN-ACKs go to the gateway, the kernel, which drops them: nobody ever answers) and every later SYN,
flood or not, gets a SYN cookie. curl's first and only SYN is answered with a cookie SYN-ACK that
carries the options curl offered, the body arrives byte for byte, and a second kernel client's
cookie-built connection has timestamps, SACK and window scaling on both sides. The counters match
the SYNs sent exactly: 64 passive opens from the flood, one cookie per other SYN, no drops.

The contrast (the test can fail): with tcp_syncookies = 0 and the same flood, every SYN past the
64th is dropped (tcp_req_q_full_drop), curl's SYN among them: it gets no SYN-ACK and gives up.
With tcp_syncookies = 2 every SYN gets a cookie and no half-open entry is ever kept.

Each case floods for about a second (300 SYNs at once, then 1000 a second until the clients are
done); the flood stops by itself after 20000 SYNs or 20 s if the test does not stop it first. Processes, captures, the namespace and the daemon
go away when a case ends, whatever happened.
"""

import json
import os
import re
import signal
import sys
import time

import harness
import processes
from test_httpd import Httpd

PORT = 80
URL = f"http://{harness.STACK_IP}/"
SYN_BACKLOG = 64
BODY_SIZE = 1000
EXPECTED_BODY = bytes(ord("a") + i % 26 for i in range(BODY_SIZE))  # what synwave-httpd serves
SPOOFED_SOURCES = "198.19.0.0/16"  # syn_flood.py's sources: 198.19.0.1, 198.19.0.2, ...
FLOOD_BURST = 300                 # at once: fills the SYN queue and overflows it
FLOOD_RATE = 1000                 # SYNs per second afterwards, while the clients connect
FLOOD_COUNT = 20000               # bounds, should the test not stop it: whichever comes first
FLOOD_DURATION = 20
# Without an answer, Linux retransmits its first SYN after 1 s (TCP_TIMEOUT_INIT): a client that
# gives up before that has sent exactly one SYN.
ONE_SYN_CONNECT_TIMEOUT = "0.8"

# A kernel client that fetches the page over one connection and keeps the connection open, so
# both ends of a cookie-built connection can be inspected.
HOLDING_CLIENT = f"""
import json, re, socket, time
s = socket.create_connection(("{harness.STACK_IP}", {PORT}), timeout=5)
s.sendall(b"GET / HTTP/1.1\\r\\nHost: synflood\\r\\n\\r\\n")
def more():
    chunk = s.recv(65536)
    if not chunk:
        raise SystemExit("connection closed before the whole response")
    return chunk
data = b""
while b"\\r\\n\\r\\n" not in data:
    data += more()
head, _, body = data.partition(b"\\r\\n\\r\\n")
length = int(re.search(rb"(?im)^content-length: (\\d+)\\r?$", head).group(1))
while len(body) < length:
    body += more()
# struct tcp_info: tcpi_options (TS 1, SACK 2, WSCALE 4), the window scales (snd in the low
# nibble), tcpi_snd_mss
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print(json.dumps({{"port": s.getsockname()[1], "status": head.split(b"\\r\\n")[0].decode(),
                   "body": body.decode(), "options": info[5], "snd_wscale": info[6] & 15,
                   "rcv_wscale": info[6] >> 4, "snd_mss": int.from_bytes(info[16:20], "little")}}), flush=True)
time.sleep(30)
"""


class Processes(processes.Processes):
    """What a case starts: the flood, tcpdump and kernel clients in the namespace."""

    def in_namespace(self, cmd, name):
        return self.start(["ip", "netns", "exec", self.stack.netns, *cmd], name)

    def flood(self):
        """syn_flood.py at the listener; returns once its burst is out."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "syn_flood.py")
        process = self.in_namespace([sys.executable, script, self.stack.iface, self.stack.stack_mac(),
                                     harness.KERNEL_MAC, harness.STACK_IP, PORT, "--burst", FLOOD_BURST,
                                     "--rate", FLOOD_RATE, "--count", FLOOD_COUNT, "--duration", FLOOD_DURATION],
                                    "syn_flood.py")
        process.expect(rf"^burst {FLOOD_BURST}$")
        return process

    def capture(self, path):
        """tcpdump of the kernel client's port-80 traffic (the flood's addresses left out)."""
        process = self.in_namespace(["tcpdump", "-i", self.stack.iface, "-nn", "-U", "--immediate-mode", "-w", path,
                                     f"tcp port {PORT} and host {harness.KERNEL_IP}"], "tcpdump")
        process.expect(r"listening on")
        return process


def stop_capture(capture, path):
    """Stops tcpdump and returns the captured packets, one line each, as tcpdump -nn prints them."""
    time.sleep(0.5)  # let the last frames reach the ring before tcpdump stops
    capture.signal(signal.SIGINT)
    assert capture.wait(10) == 0, capture.output()
    dropped = re.search(r"(\d+) packets? dropped by kernel", capture.output())
    assert dropped is None or dropped.group(1) == "0", capture.output()
    out = harness.run(["tcpdump", "-nn", "-r", path]).stdout
    return [line for line in out.splitlines() if " > " in line]


def segments(packets, flags, src, dst):
    """Captured segments from src to dst (address or address.port prefix) with exactly these flags."""
    return [line for line in packets
            if re.search(rf"IP {re.escape(src)}\.\d+ > {re.escape(dst)}\.\d+: Flags \[{re.escape(flags)}\]", line)]


def drop_replies_to_spoofed_sources(stack):
    """synwave sends its SYN-ACKs for 198.19.x.y to its gateway, the kernel's 198.18.0.1: the kernel
    neither forwards nor answers them (no forwarding, a blackhole route), so the half-open entries
    stay half-open and nothing comes back to synwave."""
    stack.ns(["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    stack.ns(["ip", "route", "add", "blackhole", SPOOFED_SOURCES])


def tap_tx_dropped(stack):
    """Frames the kernel end of the TAP could not hand to synwave (its queue overflowed)."""
    info = json.loads(stack.ns(["ip", "-s", "-j", "link", "show", "dev", stack.iface]).stdout)
    return info[0]["stats64"]["tx"]["dropped"]


def tcp_states(stack):
    return stack.telemetry("/synwave/tcp/states")


def connections(stack):
    """Every connection of /synwave/tcp/connections, following the pages."""
    found, offset = [], 0
    while True:
        page = stack.telemetry("/synwave/tcp/connections", f"{offset},200")
        found += [value for key, value in page.items() if isinstance(value, dict)]
        if page["next"] >= page["total"] or page["next"] == offset:
            return found
        offset = page["next"]


def curl(stack, connect_timeout, body_path):
    """curl from the namespace; returns (exit code, HTTP status, the body bytes)."""
    result = stack.ns(["curl", "-s", "--connect-timeout", connect_timeout, "--max-time", "5", "-o", body_path,
                       "-w", "%{http_code}", URL], check=False)
    body = b""
    if os.path.exists(body_path):
        with open(body_path, "rb") as f:
            body = f.read()
    return result.returncode, result.stdout, body


def deltas(before, after):
    return {name: after[name] - before.get(name, 0) for name in after}


class FloodRun:
    """One case: synwave-httpd with the given tcp_syncookies, a flood at its listener, and kernel
    clients connecting while the flood goes on. What was seen is kept for the assertions."""

    def __init__(self, name, syncookies, client_connect_timeout="5", holding_client=True):
        self.name = name
        self.syncookies = syncookies
        self.client_connect_timeout = client_connect_timeout
        self.holding_client = holding_client

    def run(self):
        httpd = Httpd(self.name, args=["--response-size", str(BODY_SIZE), "--port", str(PORT)],
                      sysctl_lines=f"tcp_max_syn_backlog = {SYN_BACKLOG}\ntcp_syncookies = {self.syncookies}\n")
        with httpd, Processes(httpd) as procs:
            drop_replies_to_spoofed_sources(httpd)
            # One fetch before the flood: the page as served without one, and the neighbours
            # resolved both ways (synwave's SYN-ACKs to the flood then need no ARP).
            code, status, body = curl(httpd, "5", os.path.join(httpd.workdir, "baseline.body"))
            assert (code, status, body) == (0, "200", EXPECTED_BODY), (code, status, body[:80])
            self.before = httpd.counters()
            dropped_before = tap_tx_dropped(httpd)

            flood = procs.flood()
            # The burst has been taken in: every SYN of it made a half-open entry, got a cookie or
            # was dropped.
            httpd.wait_for(lambda: self.syns_handled(httpd.counters()) >= FLOOD_BURST, timeout=10,
                           what=f"synwave to take in the burst of {FLOOD_BURST} SYNs")
            self.states_under_flood = tcp_states(httpd)

            pcap = os.path.join(httpd.workdir, "client.pcap")
            capture = procs.capture(pcap)
            self.curl_code, self.curl_status, self.curl_body = curl(httpd, self.client_connect_timeout,
                                                                    os.path.join(httpd.workdir, "flooded.body"))
            self.held = self.held_connection = None
            if self.holding_client and self.curl_code == 0:  # a failed curl is reported as such
                client = procs.in_namespace([sys.executable, "-c", HOLDING_CLIENT], "holding client")
                self.held = json.loads(client.expect(r"^\{.*\}$").group(0))
                remote = f"{harness.KERNEL_IP}:{self.held['port']}"
                self.held_connection = next((c for c in connections(httpd) if c["remote"] == remote), None)
            self.flooding_throughout = flood.running()
            self.packets = stop_capture(capture, pcap)

            flood.signal(signal.SIGTERM)
            assert flood.wait(10) == 0, flood.output()
            self.flood = json.loads(flood.lines[-1])
            self.tap_dropped = tap_tx_dropped(httpd) - dropped_before
            self.flood_arrived = self.flood["sent"] - self.tap_dropped
            client_syns = len(self.client_syns())
            expected = self.flood_arrived + client_syns
            httpd.wait_for(lambda: self.syns_handled(httpd.counters()) >= expected, timeout=10,
                           what=f"synwave to take in {expected} SYNs")
            time.sleep(0.2)  # anything beyond would be a surplus: let it show
            self.after = httpd.counters()
            self.states_after = tcp_states(httpd)
            self.delta = deltas(self.before, self.after)
        assert httpd.exit_code == 0, httpd.output
        assert re.search(r"all \d+ mbufs returned", httpd.output), httpd.output
        return self

    def syns_handled(self, counters):
        """SYNs to the listener since the flood began: half-open entries made, cookies sent, SYNs
        dropped for a full SYN queue."""
        d = deltas(self.before, counters)
        return d["tcp_req_q_full_do_cookies"] + d["tcp_req_q_full_drop"] + self.half_open_made(d)

    def half_open_made(self, d):
        # tcp_passive_opens counts half-open entries when they are made and cookie connections
        # when their ACK arrives: the latter are tcp_syncookies_recv.
        return d["tcp_passive_opens"] - d["tcp_syncookies_recv"]

    def client_syns(self):
        return segments(self.packets, "S", harness.KERNEL_IP, harness.STACK_IP)

    def synacks_to_client(self):
        return segments(self.packets, "S.", harness.STACK_IP, harness.KERNEL_IP)


def syns_per_client_port(lines, direction):
    """{kernel port: segments} for SYNs from the kernel (direction "from") or SYN-ACKs to it ("to")."""
    pattern = (rf"IP {re.escape(harness.KERNEL_IP)}\.(\d+) > " if direction == "from"
               else rf"> {re.escape(harness.KERNEL_IP)}\.(\d+): ")
    counts = {}
    for line in lines:
        port = int(re.search(pattern, line).group(1))
        counts[port] = counts.get(port, 0) + 1
    return counts


def assert_flood_went_on_throughout(r):
    # SIGTERM stopped it, after the clients were done: it was sending while they connected.
    assert r.flooding_throughout and r.flood["stopped_by"] == "signal", r.flood
    assert r.flood["sent"] > FLOOD_BURST, r.flood


def assert_no_side_effects(r):
    """The flood's SYN-ACKs went to the gateway without an ARP storm, nothing answered them, and no
    SYN met a full accept queue or an empty socket slab."""
    d = r.delta
    assert d["arp_requests_out"] <= 1, d["arp_requests_out"]
    assert d["drop_arp_queue_full"] == 0 and d["drop_arp_unresolved"] == 0, d
    assert d["drop_icmp_not_echo"] == 0, d  # no ICMP unreachable came back
    assert d["tcp_resets_received"] == 0, d
    assert d["tcp_listen_overflows"] == 0 and d["drop_tcp_no_buffer"] == 0, d


def assert_each_client_needed_one_syn(r, clients):
    """Each client's connection: exactly one SYN, answered by exactly one SYN-ACK that offers what the
    SYN offered (MSS, SACK, timestamps echoing the SYN's TSval, window scaling), in Linux's layout."""
    syns, synacks = r.client_syns(), r.synacks_to_client()
    syns_by_port = syns_per_client_port(syns, "from")
    assert len(syns_by_port) == clients and set(syns_by_port.values()) == {1}, syns
    assert syns_per_client_port(synacks, "to") == syns_by_port, (syns, synacks)
    for syn in syns:
        port = re.search(rf"IP {re.escape(harness.KERNEL_IP)}\.(\d+) ", syn).group(1)
        tsval = re.search(r"options \[mss 1460,sackOK,TS val (\d+) ecr 0,nop,wscale \d+\]", syn)
        assert tsval, syn
        synack = next(line for line in synacks if f"> {harness.KERNEL_IP}.{port}: " in line)
        assert re.search(rf"options \[mss 1460,sackOK,TS val \d+ ecr {tsval.group(1)},nop,wscale 7\]", synack), synack


def kernel_wscale(r, port):
    """The window scale the kernel offered in the SYN of its connection from port."""
    syn = next(line for line in r.client_syns() if f"IP {harness.KERNEL_IP}.{port} > " in line)
    return int(re.search(r"wscale (\d+)\]", syn).group(1))


def assert_curl_got_the_page(r):
    assert (r.curl_code, r.curl_status) == (0, "200"), (r.curl_code, r.curl_status)
    assert r.curl_body == EXPECTED_BODY, (len(r.curl_body), r.curl_body[:80])


def assert_cookie_connection_has_the_options(r):
    """The held connection was built from a cookie; both ends have what the SYN and SYN-ACK offered:
    timestamps, SACK, the window scales both offered (synwave's 7, the kernel's own), MSS 1460 less
    the 12 bytes of timestamps."""
    assert r.held["status"] == "HTTP/1.1 200 OK" and r.held["body"].encode() == EXPECTED_BODY, r.held
    c = r.held_connection
    assert c is not None, f"no connection from {harness.KERNEL_IP}:{r.held['port']}"
    assert c["state"] == "ESTAB", c
    theirs = kernel_wscale(r, r.held["port"])
    assert (c["timestamps"], c["sack"], c["snd_wscale"], c["rcv_wscale"], c["mss"]) == (1, 1, theirs, 7, 1448), c
    kernel = {key: r.held[key] for key in ("options", "snd_wscale", "rcv_wscale", "snd_mss")}
    assert kernel == {"options": 1 | 2 | 4, "snd_wscale": 7, "rcv_wscale": theirs, "snd_mss": 1448}, kernel


def test_cookies_answer_the_client_while_the_syn_queue_is_full():
    r = FloodRun("sfcook", syncookies=1).run()
    d, clients = r.delta, 2  # curl, then the holding client
    assert_flood_went_on_throughout(r)
    # The SYN queue was full while the clients connected, and stayed so: the flood's first 64 SYNs.
    assert r.states_under_flood.get("SYN_RECV") == SYN_BACKLOG, r.states_under_flood
    assert r.states_after.get("SYN_RECV") == SYN_BACKLOG, r.states_after
    assert_each_client_needed_one_syn(r, clients)
    assert_curl_got_the_page(r)
    assert_cookie_connection_has_the_options(r)
    # Every SYN past the 64th, the clients' included, got a cookie; both clients' ACKs carried valid
    # ones; nothing was dropped.
    cookies = r.flood_arrived - SYN_BACKLOG + clients
    assert d["tcp_req_q_full_do_cookies"] == cookies, (d["tcp_req_q_full_do_cookies"], cookies, r.flood)
    assert d["tcp_syncookies_sent"] == cookies, (d["tcp_syncookies_sent"], cookies)
    assert (d["tcp_syncookies_recv"], d["tcp_syncookies_failed"]) == (clients, 0), d
    assert d["tcp_passive_opens"] == SYN_BACKLOG + clients, d["tcp_passive_opens"]
    assert d["tcp_req_q_full_drop"] == 0 and d["drop_tcp_listen_drops"] == 0, d
    assert_no_side_effects(r)


def test_without_cookies_the_full_queue_drops_the_client():
    """The contrast: the same flood with tcp_syncookies = 0 locks curl out."""
    r = FloodRun("sfnone", syncookies=0, client_connect_timeout=ONE_SYN_CONNECT_TIMEOUT, holding_client=False).run()
    d = r.delta
    assert_flood_went_on_throughout(r)
    assert r.states_under_flood.get("SYN_RECV") == SYN_BACKLOG, r.states_under_flood
    # curl's SYN went unanswered, and curl gave up before its retransmission (exit 28: timeout).
    assert r.curl_code == 28 and r.curl_body == b"", (r.curl_code, r.curl_status, r.curl_body[:80])
    syns = r.client_syns()
    assert len(syns) == 1, syns
    assert r.synacks_to_client() == [], r.packets
    # Every SYN past the 64th was dropped, curl's included; not one cookie.
    drops = r.flood_arrived - SYN_BACKLOG + len(syns)
    assert d["tcp_req_q_full_drop"] == drops, (d["tcp_req_q_full_drop"], drops, r.flood)
    assert d["drop_tcp_listen_drops"] == drops, (d["drop_tcp_listen_drops"], drops)
    assert d["tcp_req_q_full_do_cookies"] == 0 and d["tcp_syncookies_sent"] == 0, d
    assert d["tcp_passive_opens"] == SYN_BACKLOG, d["tcp_passive_opens"]
    assert_no_side_effects(r)


def test_always_cookies_keep_no_half_open_entry():
    """tcp_syncookies = 2: every SYN gets a cookie, whether the queue is full or not."""
    r = FloodRun("sfalways", syncookies=2).run()
    d, clients = r.delta, 2
    assert_flood_went_on_throughout(r)
    assert r.states_under_flood.get("SYN_RECV", 0) == 0, r.states_under_flood
    assert r.states_after.get("SYN_RECV", 0) == 0, r.states_after
    assert_each_client_needed_one_syn(r, clients)
    assert_curl_got_the_page(r)
    assert_cookie_connection_has_the_options(r)
    cookies = r.flood_arrived + clients
    assert d["tcp_req_q_full_do_cookies"] == cookies, (d["tcp_req_q_full_do_cookies"], cookies, r.flood)
    assert d["tcp_syncookies_sent"] == cookies, (d["tcp_syncookies_sent"], cookies)
    assert (d["tcp_syncookies_recv"], d["tcp_syncookies_failed"]) == (clients, 0), d
    assert d["tcp_passive_opens"] == clients, d["tcp_passive_opens"]
    assert d["tcp_req_q_full_drop"] == 0 and d["drop_tcp_listen_drops"] == 0, d
    assert_no_side_effects(r)


CASES = [test_cookies_answer_the_client_while_the_syn_queue_is_full,
         test_without_cookies_the_full_queue_drops_the_client,
         test_always_cookies_keep_no_half_open_entry]

if __name__ == "__main__":
    by_name = {case.__name__: case for case in CASES}
    unknown = [name for name in sys.argv[1:] if name not in by_name]
    if unknown:
        sys.exit(f"unknown test(s): {unknown}; known: {', '.join(by_name)}")
    sys.exit(harness.main([by_name[name] for name in sys.argv[1:]] or CASES))
