"""The shim: applications as processes of their own, attached to a synwave daemon on net_tap through
the client library, with the Linux kernel as the peer in a namespace.

synwave-httpd --attach serving curl (keep-alive, /synwave/apps, a clean SIGTERM); shim-tool
(shim_tool.c, a C program of the client library) as an echo client of a kernel server, byte-exact;
two applications at once; an application killed with connections open (its sockets close as Linux
closes a dead process's: RST with unread data, FIN without) while the daemon keeps serving; an
attach refused by the socket's file mode, refused by the daemon's credential check (SO_PEERCRED),
then allowed by [shim] allow_uids; a daemon that stops while applications block in accept and
recv; and listeners inherited across fork(): nginx-like workers accepting on their master's listener
(one or two engines, a daemonized master), a redis-like child closing what it inherited.

Every process a test starts (applications, kernel-side servers and clients) is killed when the test
ends, whatever happened; the harness removes the namespace and stops the daemon.
"""

import os
import re
import signal
import sys
import time

import harness
import processes

URL = f"http://{harness.STACK_IP}/"
MBUFS_RETURNED = re.compile(r"all \d+ mbufs returned")

class Processes(processes.Processes):
    """The processes one test starts (processes.py): synwave-httpd, shim-tool, kernel-side python."""

    def httpd(self, *args, name="httpd"):
        """synwave-httpd --attach on the stack's daemon; returns once it printed "ready"."""
        process = self.start([harness.synwave_binary("SYNWAVE_HTTPD_BIN"), "--attach", self.stack.file_prefix,
                              *args], name)
        process.expect(r"^ready$")
        return process

    def tool(self, mode, *args, name=None, user=None):
        """shim-tool MODE PREFIX ARGS...; as another uid when user is given (setpriv)."""
        cmd = [harness.synwave_binary("SYNWAVE_SHIM_TOOL_BIN"), mode, self.stack.file_prefix, *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        return self.start(cmd, name or f"shim-tool {mode}")

    def kernel(self, code, *args, name="kernel python"):
        """Python in the test namespace (the kernel side)."""
        return self.start(["ip", "netns", "exec", self.stack.netns, sys.executable, "-c", code, *args], name)


class Stack(harness.Stack):
    """The daemon (harness.Stack), and after it stops, the directory of its attach socket: the daemon
    removes shim.sock but leaves /run/synwave/<file prefix> behind."""

    def stop(self, timeout=15):
        code = super().stop(timeout)
        try:
            os.rmdir(f"/run/synwave/{self.file_prefix}")
        except OSError:
            pass
        return code


def curl(stack, *args):
    return stack.ns(["curl", "-s", "--max-time", "10", *args]).stdout


def get(stack, url):
    """GET url with curl from the namespace: (status line, headers text, body)."""
    out = curl(stack, "-D", "-", url)  # text mode: CRLF arrives as LF
    head, _, body = out.partition("\n\n")
    return head.split("\n", 1)[0], head, body


def apps(stack):
    """/synwave/apps without the totals: {"app<id>": {...}}."""
    return {key: value for key, value in stack.telemetry("/synwave/apps").items() if isinstance(value, dict)}


def app_pids(stack):
    return sorted(app["pid"] for app in apps(stack).values())


def expect_connected(stack, tool, port):
    """Waits for the tool's "connected LOCAL PEER" line; checks PEER (sw_getpeername)."""
    try:
        local, peer = tool.expect(r"^connected (\S+) (\S+)$", timeout=10).groups()
    except AssertionError as error:
        raise AssertionError(f"{error}\nthe daemon's TCP states: {stack.telemetry('/synwave/tcp/states')}")
    assert local.startswith(f"{harness.STACK_IP}:"), f"sw_getsockname gave {local}"
    assert peer == f"{harness.KERNEL_IP}:{port}", f"sw_getpeername gave {peer}"


def assert_clean_stop(stack):
    assert stack.exit_code == 0, f"daemon exit {stack.exit_code}:\n{stack.output}"
    assert MBUFS_RETURNED.search(stack.output), stack.output


# A kernel echo server on KERNEL_IP:port: one connection, everything back until EOF.
ECHO_SERVER = f"""
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('{harness.KERNEL_IP}', int(sys.argv[1])))
srv.listen(4)
srv.settimeout(30)
print('listening', flush=True)
c, peer = srv.accept()
c.settimeout(30)
total = 0
while True:
    data = c.recv(65536)
    if not data:
        break
    c.sendall(data)
    total += len(data)
c.close()
print('echoed', total, flush=True)
"""

# A kernel server on KERNEL_IP:port that accepts one connection and sends nothing.
SILENT_SERVER = f"""
import socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('{harness.KERNEL_IP}', int(sys.argv[1])))
srv.listen(4)
srv.settimeout(30)
print('listening', flush=True)
c, peer = srv.accept()
print('accepted', flush=True)
time.sleep(60)
"""

# A kernel client of STACK_IP:port: sends n bytes, then reports how the connection ended.
KERNEL_CLIENT = f"""
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(('{harness.STACK_IP}', port), timeout=10)
if n:
    s.sendall(b'x' * n)
print('sent', n, flush=True)
s.settimeout(15)
try:
    data = s.recv(4096)
    print('eof' if not data else 'data %d' % len(data), flush=True)
except ConnectionResetError:
    print('reset', flush=True)
except socket.timeout:
    print('timeout', flush=True)
"""


def test_separate_server_process_answers_curl():
    with Stack("shttp") as stack, Processes(stack) as procs:
        httpd = procs.httpd("--response-size", "1000")
        status, head, body = get(stack, URL)
        assert status.startswith("HTTP/1.1 200 OK"), head
        assert re.search(r"(?im)^content-length: 1000$", head), head
        assert len(body) == 1000, len(body)

        opens = stack.counters()["tcp_passive_opens"]
        result = stack.ns(["curl", "-sv", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null", URL, URL])
        assert "Re-using existing connection" in result.stderr or "Reusing existing connection" in result.stderr, \
            result.stderr
        assert result.stderr.count("< HTTP/1.1 200 OK") == 2, result.stderr
        assert stack.counters()["tcp_passive_opens"] == opens + 1, stack.counters()

        listed = list(apps(stack).values())
        assert len(listed) == 1, listed
        assert listed[0]["pid"] == httpd.pid, (listed, httpd.pid)
        assert listed[0]["name"] == "synwave-httpd", listed
        assert listed[0]["phase"] == "live", listed
        assert listed[0]["accepted"] == 2, listed

        httpd.signal(signal.SIGTERM)
        code = httpd.wait(10)
        assert code == 0, f"httpd exit {code}:\n{httpd.output()}"
        assert "synwave-httpd: stopped" in httpd.output(), httpd.output()
        stack.wait_for(lambda: not apps(stack), what="the apps list to empty after httpd stopped")
    assert_clean_stop(stack)


def test_client_process_to_kernel_echo_server():
    size = 2 * 1024 * 1024
    with Stack("secho") as stack, Processes(stack) as procs:
        server = procs.kernel(ECHO_SERVER, 7000, name="kernel echo server")
        server.expect(r"^listening$")
        client = procs.tool("echo-client", harness.KERNEL_IP, 7000, size)
        expect_connected(stack, client, 7000)
        code = client.wait(30)
        assert code == 0, f"echo-client exit {code}:\n{client.output()}"
        client.expect(rf"^ok sent={size} received={size}$", timeout=0)
        server.expect(rf"^echoed {size}$")
    assert_clean_stop(stack)


def test_two_applications_at_once():
    with Stack("stwo") as stack, Processes(stack) as procs:
        first = procs.httpd("--port", "80", "--response-size", "100", name="httpd :80")
        second = procs.httpd("--port", "8080", "--response-size", "200", name="httpd :8080")
        assert app_pids(stack) == sorted([first.pid, second.pid]), apps(stack)
        for url, size in ((URL, 100), (f"http://{harness.STACK_IP}:8080/", 200), (URL, 100)):
            status, head, body = get(stack, url)
            assert status.startswith("HTTP/1.1 200 OK"), (url, head)
            assert len(body) == size, (url, len(body))
        for process in (first, second):
            process.signal(signal.SIGTERM)
            assert process.wait(10) == 0, process.output()
    assert_clean_stop(stack)


def test_sigkill_closes_connections_as_linux_does():
    with Stack("skill") as stack, Processes(stack) as procs:
        holder = procs.tool("hold-server", 9000)
        holder.expect(r"^listening 9000$")
        unread = procs.kernel(KERNEL_CLIENT, 9000, 100, name="kernel client (100 bytes unread)")
        unread.expect(r"^sent 100$")
        peer = holder.expect(r"^accepted 1 (\S+)$").group(1)  # checked last: the rest does not depend on it
        quiet = procs.kernel(KERNEL_CLIENT, 9000, 0, name="kernel client (nothing sent)")
        quiet.expect(r"^sent 0$")
        holder.expect(r"^accepted 2 ")
        # The 100 bytes are in the application's receive ring, unread: that makes its close an RST.
        stack.wait_for(lambda: sum(a["bytes_in"] for a in apps(stack).values()) >= 100,
                       what="the 100 bytes in the application's ring")
        assert app_pids(stack) == [holder.pid], apps(stack)

        holder.signal(signal.SIGKILL)
        assert holder.wait(5) == -signal.SIGKILL
        ended = unread.expect(r"^(reset|eof|data \d+|timeout)$", timeout=15).group(1)
        assert ended == "reset", f"with unread data: {ended} (expected an RST)"
        ended = quiet.expect(r"^(reset|eof|data \d+|timeout)$", timeout=15).group(1)
        assert ended == "eof", f"without unread data: {ended} (expected a FIN)"

        # The daemon keeps serving: another application attaches and answers.
        httpd = procs.httpd("--response-size", "10")
        status, head, body = get(stack, URL)
        assert status.startswith("HTTP/1.1 200 OK") and len(body) == 10, (head, body)
        stack.wait_for(lambda: app_pids(stack) == [httpd.pid], timeout=5,
                       what="the killed application to leave the apps list")
        httpd.signal(signal.SIGTERM)
        assert httpd.wait(10) == 0, httpd.output()
        stack.wait_for(lambda: not apps(stack), timeout=5, what="the apps list to empty")
        assert peer.startswith(f"{harness.KERNEL_IP}:"), f"sw_accept gave the peer address {peer}"
    assert_clean_stop(stack)


# A kernel client that sends as fast as the connection takes, until nothing moved for 2 s; then
# reports how much went and stays connected (the test ends it).
FLOOD_CLIENT = f"""
import socket, sys, time
s = socket.create_connection(('{harness.STACK_IP}', int(sys.argv[1])), timeout=10)
s.setblocking(False)
chunk, total, last = b'y' * 65536, 0, time.monotonic()
while time.monotonic() - last < 2 and total < 256 * 1024 * 1024:
    try:
        total += s.send(chunk)
        last = time.monotonic()
    except BlockingIOError:
        time.sleep(0.01)
print('stalled', total, flush=True)
time.sleep(60)
"""


def test_slow_application_fills_only_its_own_buffers():
    """An application that never reads: its receive ring fills, then TCP's buffer, and the window
    closes on the sender; another application is served all along."""
    with Stack("sslow") as stack, Processes(stack) as procs:
        holder = procs.tool("hold-server", 9002)
        holder.expect(r"^listening 9002$")
        httpd = procs.httpd("--response-size", "10")
        flood = procs.kernel(FLOOD_CLIENT, 9002, name="kernel client sending")
        holder.expect(r"^accepted 1 ")
        total = int(flood.expect(r"^stalled (\d+)$", timeout=60).group(1))
        # What went: the ring (64 KiB), TCP's receive buffer (tcp_rmem max 6 MiB at most) and what
        # the kernel's own send buffer holds: far from the 256 MiB the sender would have sent.
        assert 0 < total < 16 * 1024 * 1024, total
        holder_app = [a for a in apps(stack).values() if a["pid"] == holder.pid][0]
        assert holder_app["bytes_in"] == 65536, holder_app  # its own ring exactly full, no more
        rows = stack.telemetry("/synwave/tcp/connections")
        queued = [row["recv_q"] for key, row in rows.items() if isinstance(row, dict) and row["local"].endswith(":9002")
                  and row["state"] == "ESTAB"]
        assert queued and queued[0] > 0, rows  # the rest waits in TCP, unread, and the window is closed
        status, head, body = get(stack, URL)
        assert status.startswith("HTTP/1.1 200 OK") and len(body) == 10, (head, body)
        httpd.signal(signal.SIGTERM)
        assert httpd.wait(10) == 0, httpd.output()
    assert_clean_stop(stack)


NOBODY = 65534


def test_attach_refused_by_socket_mode():
    # The socket's own mode (0660 by default) keeps other uids out before the daemon sees them.
    with Stack("sperm") as stack, Processes(stack) as procs:
        tool = procs.tool("attach", user=NOBODY)
        assert tool.wait(10) == 1, tool.output()
        line = tool.expect(r"^refused: ", timeout=0).string
        assert line.startswith("refused: errno=EACCES "), line
        assert "shim.sock" in line, line
        assert stack.telemetry("/synwave/apps")["refused_total"] == 0  # the daemon never saw it
    assert_clean_stop(stack)


def test_attach_refused_by_daemon_credential_check():
    # A socket everyone may open: the daemon's SO_PEERCRED check refuses.
    with Stack("sdeny", shim_lines="mode = 0666") as stack, Processes(stack) as procs:
        tool = procs.tool("attach", user=NOBODY)
        assert tool.wait(10) == 1, tool.output()
        line = tool.expect(r"^refused: ", timeout=0).string
        assert stack.telemetry("/synwave/apps")["refused_total"] == 1
        assert not apps(stack)
        assert line.startswith("refused: errno=EACCES "), line
        assert f"uid {NOBODY}" in line, line
    assert_clean_stop(stack)


def test_attach_allowed_by_allow_uids():
    with Stack("sallow", shim_lines=f"mode = 0666\nallow_uids = {NOBODY}") as stack, \
            Processes(stack) as procs:
        tool = procs.tool("attach", user=NOBODY)
        assert tool.wait(10) == 0, tool.output()
        tool.expect(r"^attached$", timeout=0)
        assert stack.telemetry("/synwave/apps")["refused_total"] == 0
    assert_clean_stop(stack)


def test_daemon_stop_wakes_blocked_calls():
    with Stack("sstop") as stack, Processes(stack) as procs:
        server = procs.kernel(SILENT_SERVER, 7001, name="kernel silent server")
        server.expect(r"^listening$")
        acceptor = procs.tool("block-accept", 9001)
        acceptor.expect(r"^blocking$")
        receiver = procs.tool("block-recv", harness.KERNEL_IP, 7001)
        receiver_problem = None  # reported after the acceptor's part, which does not depend on it
        try:
            expect_connected(stack, receiver, 7001)
            receiver.expect(r"^blocking$")
            server.expect(r"^accepted$")
        except AssertionError as error:
            receiver_problem = error
        time.sleep(0.5)  # both are asleep inside their calls by now

        stopped = time.monotonic()
        stack.process.send_signal(signal.SIGTERM)

        def left():  # of the 5 s the tools have to return
            return max(0.1, 5 - (time.monotonic() - stopped))

        code = acceptor.wait(left())
        assert code == 0, f"block-accept exit {code}:\n{acceptor.output()}"
        accept_result = acceptor.expect(r"^accept: (\S+)$", timeout=0).group(1)
        assert accept_result == "ENETDOWN", f"a blocked sw_accept gave {accept_result} when the daemon stopped"
        if receiver_problem is not None:
            receiver.wait(left())
            raise AssertionError(f"{receiver_problem}\nblock-recv after the daemon stopped:\n{receiver.output()}")
        code = receiver.wait(left())
        assert code == 0, f"block-recv exit {code}:\n{receiver.output()}"
        recv_result = receiver.expect(r"^recv: (\S+)$", timeout=0).group(1)
        assert recv_result == "ECONNRESET", f"a blocked sw_recv gave {recv_result} when the daemon stopped"
    assert_clean_stop(stack)


def test_close_while_another_thread_is_blocked_in_recv():
    """sw_close returns at once; the thread blocked in sw_recv on that socket returns EBADF."""
    with Stack("sclose") as stack, Processes(stack) as procs:
        server = procs.kernel(SILENT_SERVER, 7002, name="kernel silent server")
        server.expect(r"^listening$")
        tool = procs.tool("close-while-blocked", harness.KERNEL_IP, 7002)
        expect_connected(stack, tool, 7002)
        tool.expect(r"^closing$")
        tool.expect(r"^closed$", timeout=2)
        result = tool.expect(r"^recv: (\S+)$", timeout=5).group(1)
        assert result == "EBADF", f"the blocked sw_recv gave {result}"
        assert tool.wait(5) == 0, tool.output()
    assert_clean_stop(stack)


def test_fork_child_starts_detached():
    """After fork() the child's inherited handle is invalid (EBADF) and its own socket attaches it
    as a second application; the parent's socket keeps working, and the child's exit leaves the
    parent attached."""
    with Stack("sfork") as stack, Processes(stack) as procs:
        tool = procs.tool("fork-child")
        tool.expect(r"^parent socket \d+$")
        assert tool.expect(r"^child inherited: (\S+)$").group(1) == "EBADF"
        assert tool.expect(r"^child socket: (\S+)$").group(1) == "ok"
        assert tool.expect(r"^parent after fork: (\S+)$").group(1) == "ok"
        tool.expect(r"^holding$")
        stack.wait_for(lambda: app_pids(stack) == [tool.pid], timeout=5,
                       what="the child's own attachment to go with it, the parent's to stay")
        assert stack.telemetry("/synwave/apps")["attached_total"] == 2
    assert_clean_stop(stack)


# A kernel client of STACK_IP:port: count connections one after the other, each sending the line
# "TAG k" and reading the answer "WHO: TAG k" to the end of stream; prints who answered how often.
LINE_CLIENT = f"""
import collections, socket, sys
port, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
served, failed = collections.Counter(), 0
for k in range(count):
    line = '%s %d' % (tag, k)
    try:
        s = socket.create_connection(('{harness.STACK_IP}', port), timeout=10)
        s.settimeout(10)
        s.sendall(line.encode() + b'\\n')
        data = b''
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        who, _, echoed = data.decode().strip().partition(': ')
        if echoed == line:
            served[who.replace(' ', '')] += 1
        else:
            failed += 1
            print('bad answer', repr(data), flush=True)
    except OSError as error:
        failed += 1
        print('failed', k, error, flush=True)
print('served', ' '.join('%s=%d' % kv for kv in sorted(served.items())), 'failed=%d' % failed, flush=True)
"""


def line_clients(procs, port, count, tag):
    """LINE_CLIENT: {who: connections answered}; asserts that none failed."""
    client = procs.kernel(LINE_CLIENT, port, count, tag, name=f"kernel clients ({tag})")
    summary = client.expect(r"^served (.*)$", timeout=60).group(1).split()
    counts = dict(item.split("=") for item in summary)
    failed = int(counts.pop("failed"))
    assert failed == 0, client.output()
    return {who: int(n) for who, n in counts.items()}


def wait_for_lines(process, pattern, count, timeout=10):
    """All matches of pattern (re.M) in the output once there are count of them, in any order."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.findall(pattern, process.output(), re.M)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{process.name}: {count} lines matching {pattern!r} expected; output:\n"
                                 f"{process.output()}")
        time.sleep(0.05)


def test_forked_workers_accept_on_the_parents_listener():
    """nginx's shape: the master listens and forks two workers that accept on the inherited
    listener handle; the master never accepts. Both workers are served; one exits and the other
    serves everything; the master closes its copy and the listener stays the worker's."""
    with Stack("sfwork") as stack, Processes(stack) as procs:
        tool = procs.tool("fork-workers", 9010)
        workers = {}
        try:
            tool.expect(r"^listening 9010$")
            for index, pid in wait_for_lines(tool, r"^worker (\d) accepting pid (\d+)$", 2):
                workers[f"worker{index}"] = int(pid)
            assert sorted(app_pids(stack)) == sorted([tool.pid, *workers.values()]), apps(stack)
            assert stack.telemetry("/synwave/apps")["attached_total"] == 3

            served = line_clients(procs, 9010, 40, "first")
            assert sum(served.values()) == 40 and set(served) == {"worker1", "worker2"}, served
            assert min(served.values()) >= 10, f"round-robin between two accepting workers: {served}"
            master = [a for a in apps(stack).values() if a["pid"] == tool.pid][0]
            assert master["accepted"] == 0 and master["sockets"] == 1, master

            os.kill(workers.pop("worker1"), signal.SIGKILL)
            stack.wait_for(lambda: sorted(app_pids(stack)) == sorted([tool.pid, workers["worker2"]]), timeout=5,
                           what="the killed worker to leave")
            assert line_clients(procs, 9010, 10, "second") == {"worker2": 10}

            tool.signal(signal.SIGUSR1)
            tool.expect(r"^parent closed$")
            stack.wait_for(lambda: [a for a in apps(stack).values() if a["pid"] == tool.pid][0]["sockets"] == 0,
                           timeout=5, what="the master's copy of the listener to close")
            assert line_clients(procs, 9010, 10, "third") == {"worker2": 10}
            assert "error" not in tool.output(), tool.output()
        finally:
            for pid in workers.values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert_clean_stop(stack)


def test_forked_workers_on_two_engines():
    """The listener listens on both engines: each worker shares it on each, and connections
    accepted by either engine reach both workers."""
    with Stack("sfengines", lcores="0-1", arp_lines="max_retries = 12\nretrans_ms = 200") as stack, \
            Processes(stack) as procs:
        tool = procs.tool("fork-workers", 9013)
        workers = []
        try:
            tool.expect(r"^listening 9013$")
            workers = [int(pid) for _, pid in wait_for_lines(tool, r"^worker (\d) accepting pid (\d+)$", 2)]
            served = line_clients(procs, 9013, 40, "engines")
            assert sum(served.values()) == 40 and set(served) == {"worker1", "worker2"}, served
            per_engine = [stack.telemetry("/synwave/counters", str(e))["tcp_passive_opens"] for e in (0, 1)]
            assert sum(per_engine) == 40 and min(per_engine) > 0, per_engine
            assert "error" not in tool.output(), tool.output()
        finally:
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert_clean_stop(stack)


def test_forked_workers_of_a_daemonized_master():
    """nginx daemonizing: the process that listened forks the master and exits at once; the master,
    which never made a call, forks the workers; they still accept on the listener."""
    with Stack("sfdaemon") as stack, Processes(stack) as procs:
        tool = procs.tool("fork-daemon", 9012)
        pids = []
        try:
            tool.expect(r"^listening 9012$")
            master, *workers = (int(pid) for pid in tool.expect(r"^master (\d+) workers (\d+) (\d+)$").groups())
            pids = [master, *workers]
            wait_for_lines(tool, r"^worker (\d) accepting pid (\d+)$", 2)
            # The process that listened is gone (its output stays open: the master and workers hold it).
            assert tool.process.wait(timeout=5) == 0
            served = line_clients(procs, 9012, 20, "daemon")
            assert sum(served.values()) == 20 and set(served) == {"worker1", "worker2"}, served
            assert "error" not in tool.output(), tool.output()
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        stack.wait_for(lambda: not apps(stack), timeout=5, what="every application to leave")
    assert_clean_stop(stack)


def test_forked_child_closes_inherited_handles_parent_keeps_them():
    """redis's shape: a child forked for a background job closes the inherited listener and
    connection without attaching; the parent answers that connection and keeps accepting."""
    with Stack("sfclose") as stack, Processes(stack) as procs:
        tool = procs.tool("fork-close", 9011)
        tool.expect(r"^listening 9011$")
        first = procs.kernel(LINE_CLIENT, 9011, 1, "first", name="kernel client (first)")
        tool.expect(r"^parent read first 0$")
        assert tool.expect(r"^child close listener: (\S+)$").group(1) == "0"
        assert tool.expect(r"^child poll inherited connection: (\S+)$").group(1) == "EPOLLHUP"
        assert tool.expect(r"^child close connection: (\S+)$").group(1) == "0"
        assert tool.expect(r"^child exited (\S+)$").group(1) == "0"
        first.expect(r"^served parent=1 failed=0$")
        assert line_clients(procs, 9011, 10, "after") == {"parent": 10}
        # The child never attached: only the parent ever was an application.
        assert stack.telemetry("/synwave/apps")["attached_total"] == 1
        assert app_pids(stack) == [tool.pid], apps(stack)
    assert_clean_stop(stack)


def test_listener_on_every_engine():
    """Two engines on a two-queue TAP: the kernel spreads its flows over both queues; one listen
    listens on both engines, and the connections accepted by either reach the one application."""
    count = 40
    # The TAP hands each ARP reply to one queue, not always the asking engine's (neighbours are
    # not shared between engines yet: issue #12): more retries make every engine resolve.
    with Stack("sengines", lcores="0-1", arp_lines="max_retries = 12\nretrans_ms = 200") as stack, \
            Processes(stack) as procs:
        procs.httpd("--response-size", "10")
        codes = [get(stack, URL)[0] for _ in range(count)]
        assert all(code.startswith("HTTP/1.1 200 OK") for code in codes), codes
        per_engine = [stack.telemetry("/synwave/counters", str(e))["tcp_passive_opens"] for e in (0, 1)]
        assert sum(per_engine) == count, per_engine
        assert min(per_engine) > 0, f"all {count} connections on one engine: {per_engine}"
        listed = list(apps(stack).values())
        assert len(listed) == 1 and listed[0]["accepted"] == count, listed
    assert_clean_stop(stack)


if __name__ == "__main__":
    sys.exit(harness.main([test_separate_server_process_answers_curl,
                           test_client_process_to_kernel_echo_server,
                           test_two_applications_at_once,
                           test_sigkill_closes_connections_as_linux_does,
                           test_slow_application_fills_only_its_own_buffers,
                           test_attach_refused_by_socket_mode,
                           test_attach_refused_by_daemon_credential_check,
                           test_attach_allowed_by_allow_uids,
                           test_daemon_stop_wakes_blocked_calls,
                           test_close_while_another_thread_is_blocked_in_recv,
                           test_fork_child_starts_detached,
                           test_forked_workers_accept_on_the_parents_listener,
                           test_forked_workers_on_two_engines,
                           test_forked_workers_of_a_daemonized_master,
                           test_forked_child_closes_inherited_handles_parent_keeps_them,
                           test_listener_on_every_engine]))
