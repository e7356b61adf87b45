"""Debian's own programs, unmodified, on synwave through synwave-run (libsynwave-preload.so), with
the Linux kernel as the peer in a network namespace.

A synwave daemon serves 198.18.0.2 on net_tap (harness.Stack); the programs under test run in the
root namespace under `synwave-run --prefix <the daemon's file prefix> --`, so their AF_INET TCP
sockets are synwave's; the kernel side (load generators, clients, servers) runs in the test's
namespace at 198.18.0.1:

  nginx         master + 2 workers (workers as www-data), epoll, sendfile on and off (with
                tcp_nopush when on): wrk and ab with keep-alive and with Connection: close, no
                errors; an 8 MiB file by curl, twice on one connection, sha256 checked; no response
                held until the client's delayed ACK (wrk -c 2: p90 under 20 ms); `nginx -s reload`
                and it keeps serving
  redis-server  redis-cli SET/GET (a 1 MiB value too), redis-benchmark SET/GET plain and
                pipelined (-P 16), one BGSAVE (a forked child writes the file) and it keeps serving
  memcached     -U 0 (TCP only): set/get of 2000 keys over 4 connections, values checked
  curl, wget    clients of a kernel HTTP server (python3 -m http.server): 8 MiB, sha256 checked
  iperf3        as server (kernel client) and as client (kernel server), -n bounded, both
                directions (-R), --json: bytes sent == bytes received by iperf3's own counters
  python3       socket module (threads) and asyncio, servers and clients (preload_echo.py),
                every byte echoed and compared
  no daemon     `synwave-run --prefix nosuch -- python3 ...` fails, and says "nosuch"

A case whose program is not installed prints "skipped: <program> is not installed" (scripts/install-deps
installs them all). Every process a case starts is killed when it ends (its whole process group:
nginx's workers and redis's BGSAVE child too), and the harness removes the namespace and stops the
daemon, on failure as well.

  python3 test_preload.py              every case (SYNWAVE_BIN, SYNWAVE_RUN_BIN set; meson sets
                                       SYNWAVE_PRELOAD_LIB too)
  python3 test_preload.py NAME...      only these cases (--list shows them)
  python3 test_preload.py --kernel     the same cases with the kernel in synwave's place: the
                                       programs run without synwave-run in the root namespace, on a
                                       veth pair into the namespace (198.18.0.2 on the root side);
                                       checks the test itself, needs no synwave
"""

import atexit
import hashlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import harness
import processes

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's (a python3 earlier in PATH may be a pyenv shell script)
STACK_IP, KERNEL_IP = harness.STACK_IP, harness.KERNEL_IP
MIB = 1024 * 1024
MBUFS_RETURNED = re.compile(r"all \d+ mbufs returned")

KERNEL_MODE = False  # --kernel: the kernel in synwave's place (KernelStack), programs unwrapped


class Skipped(Exception):
    """A case that cannot run here (a program is not installed)."""


def require(*programs):
    for program in programs:
        if shutil.which(program) is None and not os.path.exists(program):
            raise Skipped(f"{program} is not installed (scripts/install-deps installs it)")


def uid_of(user):
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


# --- processes ---------------------------------------------------------------------------------------

class Processes(processes.Processes):
    """The processes one case starts (processes.py): programs under synwave-run and kernel-side ones."""

    def wrapped(self, cmd, name):
        """A program under synwave-run on the stack's daemon (in the root namespace)."""
        return self.start(self.stack.wrap(cmd), name)

    def kernel(self, cmd, name):
        """A program in the test namespace: the kernel side."""
        return self.start(["ip", "netns", "exec", self.stack.netns] + list(cmd), name)


# --- the two stacks: synwave (the real test) and the kernel (--kernel, to check the test) -----------

def synwave_run():
    path = os.environ.get("SYNWAVE_RUN_BIN")
    if not path:
        raise RuntimeError("SYNWAVE_RUN_BIN is not set (run through meson test, or set it to "
                           "build/app/synwave-run/synwave-run)")
    return path


class SynwaveStack(harness.Stack):
    """The daemon. Its attach socket is open to the unprivileged users Debian's daemons switch to
    (nginx's workers run as www-data, memcached as memcache); after it stops, the directory of the
    attach socket and DPDK's runtime directory go too."""

    def __init__(self, name):
        uids = [uid for uid in (uid_of("www-data"), uid_of("memcache")) if uid is not None]
        shim = "mode = 0666\n" + (f"allow_uids = {', '.join(map(str, uids))}\n" if uids else "")
        # 16383 mbufs, not the harness's 4095: with several multi-megabyte transfers in flight the
        # engine's send queues can hold every mbuf of the smaller pool, and an engine with none left
        # cannot receive the ACKs that would free them (an engine limit, noted for the hardening
        # issue; these tests are about the programs).
        super().__init__(name, shim_lines=shim, mbufs_per_engine=16383)

    def wrap(self, cmd):
        return [synwave_run(), "--prefix", self.file_prefix, "--"] + list(cmd)

    def listening(self, port):
        rows = self.telemetry("/synwave/tcp/connections")
        return any(isinstance(row, dict) and row.get("state") == "LISTEN" and row["local"].endswith(f":{port}")
                   for row in rows.values())

    def stop(self, timeout=15):
        code = super().stop(timeout)
        try:
            os.rmdir(f"/run/synwave/{self.file_prefix}")
        except OSError:
            pass
        if self.process is not None and self.process.poll() is not None:  # DPDK's runtime files
            shutil.rmtree(f"/var/run/dpdk/{self.file_prefix}", ignore_errors=True)
        return code

    def check_clean_stop(self):
        assert self.exit_code == 0, f"daemon exit {self.exit_code}:\n{self.output[-4000:]}"
        assert MBUFS_RETURNED.search(self.output), self.output[-4000:]


class KernelStack:
    """The kernel where synwave would be: a veth pair, 198.18.0.2 on the root namespace's end, the
    other end in the test namespace with 198.18.0.1; programs run unwrapped."""

    def __init__(self, name):
        unique = f"{os.getpid() % 100000}"
        self.iface = f"swk{name[:6]}{unique}"[:15]
        self.netns = f"synwave-{name}-{unique}"
        self.file_prefix = f"sw-{name}-{unique}"
        self.exit_code = None

    def start(self):
        harness._live_stacks.append(self)
        harness.run(["ip", "netns", "delete", self.netns], check=False)
        harness.run(["ip", "link", "delete", self.iface], check=False)
        harness.run(["ip", "netns", "add", self.netns])
        harness.run(["ip", "link", "add", self.iface, "type", "veth", "peer", "name", "kpeer", "netns", self.netns])
        harness.run(["ip", "addr", "add", f"{STACK_IP}/{harness.PREFIX_LEN}", "dev", self.iface])
        harness.run(["ip", "link", "set", self.iface, "up"])
        for cmd in (["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                    ["ip", "addr", "add", f"{KERNEL_IP}/{harness.PREFIX_LEN}", "dev", "kpeer"],
                    ["ip", "link", "set", "kpeer", "up"], ["ip", "link", "set", "lo", "up"]):
            self.ns(cmd)
        return self

    def stop(self):
        if self in harness._live_stacks:
            harness._live_stacks.remove(self)
        harness.run(["ip", "netns", "delete", self.netns], check=False)  # takes the veth pair with it
        harness.run(["ip", "link", "delete", self.iface], check=False)
        self.exit_code = 0
        return 0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def ns(self, cmd, check=True, **kwargs):
        return harness.run(["ip", "netns", "exec", self.netns] + cmd, check=check, **kwargs)

    def wrap(self, cmd):
        return list(cmd)

    def listening(self, port):
        return bool(harness.run(["ss", "-Hltn", f"sport = :{port}"]).stdout.strip())

    def check_clean_stop(self):
        pass


def new_stack(name):
    return KernelStack(name) if KERNEL_MODE else SynwaveStack(name)


def diagnosis(stack):
    """What the daemon says (for a failure's message): TCP states, applications, non-zero drop and
    error counters. Empty with --kernel."""
    if KERNEL_MODE:
        return ""
    try:
        states = stack.telemetry("/synwave/tcp/states")
        apps = {k: {f: v[f] for f in ("pid", "name", "phase", "sockets", "accepted", "bytes_in", "bytes_out",
                                      "faulted", "bad_requests") if f in v}
                for k, v in stack.telemetry("/synwave/apps").items() if isinstance(v, dict)}
        counters = {k: v for k, v in stack.counters().items()
                    if isinstance(v, int) and v and re.search(r"drop|fail|reset|overflow|full|error|retrans", k)}
        pools = {name: f"{pool['in_use']}/{pool['size']} in use" for name, pool in stack.telemetry("/synwave/mempools").items()}
        conns = [f"{row['state']} {row['local']} {row['remote']} send_q {row['send_q']} recv_q {row['recv_q']} "
                 f"timer {row['timer']} retransmits {row['retransmits']}"
                 for row in stack.telemetry("/synwave/tcp/connections").values()
                 if isinstance(row, dict) and row["state"] not in ("TIME-WAIT", "LISTEN")][:10]
        return (f"\nthe daemon: states {states}\nmempools {pools}\napps {apps}\ncounters {counters}\n"
                f"connections (not LISTEN or TIME-WAIT, at most 10): {conns}")
    except Exception as error:  # the daemon may be gone: say so
        return f"\nthe daemon did not answer telemetry: {type(error).__name__}: {error}" + \
               (f" (exit {stack.process.poll()})" if getattr(stack, "process", None) else "")


def carried(stack, passive=0, active=0, bytes_in=0, bytes_out=0, programs=()):
    """Evidence that synwave, not the kernel, carried the case: the daemon's TCP counters reached
    these figures, and each program in programs is an attached application (by name)."""
    if KERNEL_MODE:
        return
    c = stack.counters()
    got = {"tcp_passive_opens": c["tcp_passive_opens"], "tcp_active_opens": c["tcp_active_opens"],
           "tcp_bytes_in": c["tcp_bytes_in"], "tcp_bytes_out": c["tcp_bytes_out"]}
    want = {"tcp_passive_opens": passive, "tcp_active_opens": active, "tcp_bytes_in": bytes_in,
            "tcp_bytes_out": bytes_out}
    short = {k: (got[k], want[k]) for k in want if got[k] < want[k]}
    assert not short, f"the daemon's counters (got, at least): {short}"
    if programs:
        apps = stack.telemetry("/synwave/apps")
        names = {app["name"] for app in apps.values() if isinstance(app, dict)}
        missing = [p for p in programs if p not in names]
        assert not missing, f"not attached to the daemon: {missing}; attached: {sorted(names)}"


def wait_listening(stack, port, process, timeout=20):
    """Waits until something listens on the stack's port; fails early when process exited."""
    deadline = time.monotonic() + timeout
    while not stack.listening(port):
        if not process.running():
            raise AssertionError(f"{process.name} exited with {process.process.returncode} before listening "
                                 f"on {port}; output:\n{process.output()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on {STACK_IP}:{port} after {timeout}s; {process.name}:\n"
                                 f"{process.output()[-4000:]}")
        time.sleep(0.1)


def wait_ns_listening(stack, port, process, timeout=10):
    """Waits until a kernel program listens on port in the test namespace."""
    deadline = time.monotonic() + timeout
    while not stack.ns(["ss", "-Hltn", f"sport = :{port}"]).stdout.strip():
        assert process.running(), f"{process.name} exited:\n{process.output()[-3000:]}"
        assert time.monotonic() < deadline, f"{process.name} not listening on {port} after {timeout}s"
        time.sleep(0.1)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def random_bytes(size, seed):
    return random.Random(seed).randbytes(size)


def random_file(path, size, seed):
    with open(path, "wb") as f:
        f.write(random_bytes(size, seed))
    return sha256_file(path)


def workdir(name):
    """A temporary directory everyone may read (nginx's workers run as www-data); removed at exit."""
    path = tempfile.mkdtemp(prefix=f"synwave-preload-{name}-")
    os.chmod(path, 0o755)
    atexit.register(shutil.rmtree, path, True)
    return path


# --- load generators and their verdicts --------------------------------------------------------------

def wrk(stack, url, connections=16, seconds=2, close=False):
    """wrk from the namespace; returns its figures; fails on any error it reports."""
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = stack.ns(cmd + [url], timeout=seconds + 30).stdout
    requests = re.search(r"(\d+) requests in", out)
    assert requests and int(requests.group(1)) > 0, f"wrk made no requests:\n{out}"
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    assert errors is None, f"wrk {'(Connection: close) ' if close else ''}socket errors:\n{out}"
    assert "Non-2xx or 3xx responses" not in out, f"wrk: error responses:\n{out}"
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {int(p): float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]
               for p, v, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    return {"requests": int(requests.group(1)), "rate": rate, "latency_ms": latency, "output": out}


def ab(stack, url, requests=2000, concurrency=8, keepalive=False):
    """ApacheBench from the namespace; fails unless every request completed with a 2xx."""
    cmd = ["ab", "-q", "-n", str(requests), "-c", str(concurrency), "-s", "10"] + (["-k"] if keepalive else [])
    result = stack.ns(cmd + [url], check=False, timeout=60)
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"ab exit {result.returncode}:\n{out}"
    complete = re.search(r"Complete requests:\s+(\d+)", out)
    assert complete and int(complete.group(1)) == requests, out
    assert re.search(r"Failed requests:\s+0\b", out), out
    assert "Non-2xx responses" not in out, out
    write_errors = re.search(r"Write errors:\s+(\d+)", out)
    assert write_errors is None or write_errors.group(1) == "0", out
    if keepalive:
        kept = re.search(r"Keep-Alive requests:\s+(\d+)", out)
        assert kept and int(kept.group(1)) > 0, f"ab -k: no request on a kept-alive connection:\n{out}"
    return out


def curl_sha256(stack, urls, directory):
    """Fetches urls with one curl from the namespace (one connection when the server keeps it
    alive); returns the sha256 of each body."""
    cmd = ["curl", "-sS", "--fail", "--max-time", "30"]
    paths = []
    for i, url in enumerate(urls):
        path = os.path.join(directory, f"fetched-{i}")
        paths.append(path)
        cmd += ["-o", path, url]
    result = stack.ns(cmd + ["-w", "%{num_connects} "], check=False, timeout=60)
    assert result.returncode == 0, f"curl exit {result.returncode}: {result.stderr}"
    sums = [sha256_file(path) for path in paths]
    for path in paths:
        os.unlink(path)
    return sums, [int(n) for n in result.stdout.split()]


# --- nginx --------------------------------------------------------------------------------------------

NGINX_PORT = 8080


def nginx_setup(name, sendfile, reuseport=False):
    """A prefix directory with nginx.conf, the document root (a small page, an 8 MiB random file) and
    every path nginx writes to; returns (directory, conf, {file: sha256})."""
    directory = workdir(name)
    www = os.path.join(directory, "www")
    os.mkdir(www)
    os.chmod(www, 0o755)
    files = {"small.html": None, "big.bin": None}
    with open(os.path.join(www, "small.html"), "w") as f:
        f.write("<html><body>" + "synwave " * 100 + "</body></html>\n")
    files["small.html"] = sha256_file(os.path.join(www, "small.html"))
    files["big.bin"] = random_file(os.path.join(www, "big.bin"), 8 * MIB, 8)
    user = "user www-data www-data;" if uid_of("www-data") is not None else ""
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""{user}
master_process on;
worker_processes 2;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{
    worker_connections 1024;
    use epoll;
}}
http {{
    access_log off;
    default_type application/octet-stream;
    sendfile {'on' if sendfile else 'off'};
    tcp_nopush {'on' if sendfile else 'off'};
    tcp_nodelay on;
    keepalive_timeout 30;
    keepalive_requests 100000;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    server {{
        listen {NGINX_PORT}{' reuseport' if reuseport else ''};
        server_name _;
        root {www};
    }}
}}
""")
    return directory, conf, files


def nginx_start(procs, directory, conf):
    nginx = procs.wrapped(["nginx", "-p", directory, "-c", conf, "-e", f"{directory}/error.log"], "nginx")
    wait_listening(procs.stack, NGINX_PORT, nginx)
    # The workers are up when both answer: ask until a page comes back (bounded).
    url = f"http://{STACK_IP}:{NGINX_PORT}/small.html"
    deadline = time.monotonic() + 15
    while True:
        result = procs.stack.ns(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", url],
                                check=False, timeout=10)
        if result.stdout == "200":
            break
        workers_died = "cannot be respawned" in read_tail(directory, "error.log", 100000)
        if not nginx.running() or workers_died or time.monotonic() > deadline:
            raise AssertionError(f"nginx does not answer {url} (curl: {result.stdout!r} {result.stderr.strip()}); "
                                 f"output:\n{nginx.output()[-3000:]}\nerror.log:\n{read_tail(directory, 'error.log')}")
        time.sleep(0.2)
    return nginx


def read_tail(directory, name, size=4000):
    try:
        with open(os.path.join(directory, name), errors="replace") as f:
            return f.read()[-size:]
    except OSError as error:
        return str(error)


def children(pid):
    out = harness.run(["ps", "-o", "pid=", "--ppid", str(pid)], check=False).stdout
    return sorted(int(p) for p in out.split())


def nginx_serves(stack, directory, files):
    """wrk and ab with keep-alive and Connection: close, and the big file twice on one connection."""
    base = f"http://{STACK_IP}:{NGINX_PORT}"
    try:
        wrk(stack, f"{base}/small.html")
        wrk(stack, f"{base}/small.html", close=True)
        ab(stack, f"{base}/small.html", keepalive=True)
        ab(stack, f"{base}/small.html")
        wrk(stack, f"{base}/big.bin", connections=4, seconds=2)
        sums, connects = curl_sha256(stack, [f"{base}/big.bin", f"{base}/big.bin"], directory)
        assert sums == [files["big.bin"]] * 2, f"8 MiB file: sha256 {sums}, expected {files['big.bin']}"
        assert sum(connects) == 1, f"curl made {connects} connections for two requests (keep-alive)"
        sums, _ = curl_sha256(stack, [f"{base}/small.html"], directory)
        assert sums == [files["small.html"]], sums
        # Two keep-alive connections, one request at a time each: every response goes out at once.
        # A response held back until the client's delayed ACK (40 ms) shows here: nginx clears
        # TCP_NODELAY and sets TCP_CORK around each response with tcp_nopush, then uncorks and sets
        # TCP_NODELAY again; on Linux either of those sends what was held (the kernel here: p90
        # about 0.1 ms on this machine).
        quiet = wrk(stack, f"{base}/small.html", connections=2, seconds=2)
        p90 = quiet["latency_ms"].get(90)
        assert p90 is not None and p90 < 20, \
            f"responses wait for the client's delayed ACK: wrk -c 2 p90 {p90} ms, {quiet['rate']:.0f} requests/s:\n" \
            f"{quiet['output']}"
    except (AssertionError, subprocess.TimeoutExpired) as error:
        raise AssertionError(f"{error}\nnginx error.log:\n{read_tail(directory, 'error.log', 2000)}"
                             f"{diagnosis(stack)}") from None


def nginx_case(name, sendfile, reuseport=False):
    require("nginx", "wrk", "ab", "curl")
    directory, conf, files = nginx_setup(name, sendfile, reuseport)
    with new_stack(name) as stack, Processes(stack) as procs:
        nginx = nginx_start(procs, directory, conf)
        workers = children(nginx.pid)
        assert len(workers) == 2, f"nginx master {nginx.pid} has children {workers}, expected 2 workers"
        nginx_serves(stack, directory, files)
        carried(stack, passive=2000, bytes_out=16 * MIB, programs=["nginx"])
        if reuseport and not KERNEL_MODE:
            # One listener per worker (SO_REUSEPORT): each worker accepted its share.
            accepted = sorted(app["accepted"] for app in stack.telemetry("/synwave/apps").values()
                              if isinstance(app, dict) and app.get("name") == "nginx")
            assert len(accepted) == 3 and accepted[0] == 0 and accepted[1] > 100, \
                f"connections accepted by nginx's master and workers: {accepted}"
        assert nginx.running(), nginx.output()
        assert children(nginx.pid) == workers, f"workers changed: {workers} -> {children(nginx.pid)}\n" \
                                               f"{read_tail(directory, 'error.log')}"
    stack.check_clean_stop()


def test_nginx_sendfile_on():
    nginx_case("ngxon", sendfile=True)


def test_nginx_sendfile_off():
    """Also `listen ... reuseport`: one listening socket per worker on the same port."""
    nginx_case("ngxoff", sendfile=False, reuseport=True)


def test_nginx_reload_keeps_serving():
    require("nginx", "wrk", "ab", "curl")
    directory, conf, files = nginx_setup("ngxhup", sendfile=True)
    with new_stack("ngxhup") as stack, Processes(stack) as procs:
        nginx = nginx_start(procs, directory, conf)
        old = children(nginx.pid)
        assert len(old) == 2, old
        harness.run(["nginx", "-p", directory, "-c", conf, "-e", f"{directory}/error.log", "-s", "reload"],
                    timeout=10)
        deadline = time.monotonic() + 15
        while True:  # two new workers, the old ones gone
            now = children(nginx.pid)
            if len(now) == 2 and not set(now) & set(old):
                break
            if not nginx.running() or time.monotonic() > deadline:
                raise AssertionError(f"after reload: workers {old} -> {now}; nginx running: {nginx.running()}\n"
                                     f"error.log:\n{read_tail(directory, 'error.log')}")
            time.sleep(0.1)
        log = read_tail(directory, "error.log", 100000)
        assert "SIGHUP" in log and "reconfiguring" in log, log[-3000:]
        nginx_serves(stack, directory, files)
        carried(stack, passive=2000, bytes_out=16 * MIB, programs=["nginx"])
        assert nginx.running()
    stack.check_clean_stop()


# --- redis ---------------------------------------------------------------------------------------------

REDIS_PORT = 6379


def redis_cli(stack, *args, input=None):
    result = stack.ns(["redis-cli", "-h", STACK_IP, "-p", str(REDIS_PORT), *args], check=False, timeout=15,
                      input=input)
    assert result.returncode == 0, f"redis-cli {' '.join(args[:3])}: exit {result.returncode}: {result.stdout}{result.stderr}"
    return result.stdout


def redis_benchmark(stack, *args):
    cmd = ["redis-benchmark", "-h", STACK_IP, "-p", str(REDIS_PORT), "-t", "set,get", "-c", "16", "--csv", *args]
    result = stack.ns(cmd, check=False, timeout=40)
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(cmd)}: exit {result.returncode}:\n{out[-3000:]}"
    rates = {m.group(1): float(m.group(2)) for m in re.finditer(r'^"(SET|GET)","([\d.]+)"', result.stdout, re.M)}
    assert set(rates) == {"SET", "GET"} and min(rates.values()) > 0, f"{' '.join(cmd)}:\n{out[-3000:]}"
    assert "rror" not in out, out[-3000:]
    return rates


def test_redis():
    require("redis-server", "redis-cli", "redis-benchmark")
    directory = workdir("redis")
    with new_stack("redis") as stack, Processes(stack) as procs:
        redis = procs.wrapped(["redis-server", "--port", REDIS_PORT, "--bind", STACK_IP, "--protected-mode", "no",
                               "--save", "", "--appendonly", "no", "--dir", directory, "--dbfilename", "dump.rdb",
                               "--daemonize", "no", "--logfile", "", "--loglevel", "notice"], "redis-server")
        redis.expect(r"Ready to accept connections", timeout=20)
        wait_listening(stack, REDIS_PORT, redis)
        assert redis_cli(stack, "PING").strip() == "PONG"
        assert redis_cli(stack, "SET", "greeting", "hello synwave").strip() == "OK"
        assert redis_cli(stack, "GET", "greeting").strip() == "hello synwave"
        big = random_bytes(MIB // 2, 6379).hex()  # 1 MiB of text that does not compress
        assert redis_cli(stack, "-x", "SET", "big", input=big).strip() == "OK"
        assert redis_cli(stack, "GET", "big") == big + "\n", "the 1 MiB value came back different"

        redis_benchmark(stack, "-n", "20000")
        redis_benchmark(stack, "-n", "100000", "-P", "16")

        before = int(redis_cli(stack, "LASTSAVE").strip())
        time.sleep(1.1)  # LASTSAVE has seconds
        assert "Background saving started" in redis_cli(stack, "BGSAVE")
        deadline = time.monotonic() + 20
        while True:
            info = redis_cli(stack, "INFO", "persistence")
            if "rdb_bgsave_in_progress:0" in info and int(redis_cli(stack, "LASTSAVE").strip()) > before:
                break
            assert time.monotonic() < deadline, f"BGSAVE did not finish:\n{info}\n{redis.output()[-3000:]}"
            time.sleep(0.1)
        assert "rdb_last_bgsave_status:ok" in info, info
        redis.expect(r"Background saving terminated with success", timeout=5)
        size = os.path.getsize(os.path.join(directory, "dump.rdb"))
        assert size > MIB // 2, f"dump.rdb has {size} bytes, less than the 1 MiB value could compress to"

        # It keeps serving after the child exited (and closed its copies of the sockets).
        assert redis_cli(stack, "GET", "greeting").strip() == "hello synwave"
        redis_benchmark(stack, "-n", "20000")
        carried(stack, passive=32, bytes_in=MIB, bytes_out=MIB, programs=["redis-server"])
        assert redis.running(), redis.output()[-3000:]
    stack.check_clean_stop()


# --- memcached -----------------------------------------------------------------------------------------

MEMCACHED_PORT = 11211

# From the namespace: CONNECTIONS threads, each sets KEYS keys (values of 1 B to 200 KB from a seeded
# generator) and gets them back one by one and 20 at a time; every value compared.
MEMCACHED_CLIENT = """
import random, socket, sys, threading
host, port, connections, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
failures, done = [], []

def read_line(sock, buf):
    while b"\\r\\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("end of stream")
        buf.extend(data)
    i = buf.index(b"\\r\\n")
    line = bytes(buf[:i]); del buf[:i + 2]
    return line

def read_exact(sock, buf, n):
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("end of stream")
        buf.extend(data)
    out = bytes(buf[:n]); del buf[:n]
    return out

def get_many(sock, buf, names):
    sock.sendall(b"get " + b" ".join(names) + b"\\r\\n")
    got = {}
    while True:
        line = read_line(sock, buf)
        if line == b"END":
            return got
        _, key, flags, size = line.split()
        got[key] = read_exact(sock, buf, int(size) + 2)[:-2]

def client(c):
    try:
        rng = random.Random(c)
        values = {f"k{c}-{i}".encode(): rng.randbytes(rng.choice((1, 100, 1400, 5000, rng.randint(1, 200000))))
                  for i in range(keys)}
        sock = socket.create_connection((host, port), timeout=10)
        buf = bytearray()
        for key, value in values.items():
            sock.sendall(b"set %s 0 0 %d\\r\\n%s\\r\\n" % (key, len(value), value))
            line = read_line(sock, buf)
            if line != b"STORED":
                failures.append(f"set {key}: {line}"); return
        for key, value in values.items():
            got = get_many(sock, buf, [key])
            if got.get(key) != value:
                failures.append(f"get {key}: {len(got.get(key) or b'')} bytes, expected {len(value)}"); return
        names = list(values)
        for i in range(0, len(names), 20):
            got = get_many(sock, buf, names[i:i + 20])
            for key in names[i:i + 20]:
                if got.get(key) != values[key]:
                    failures.append(f"multi-get {key}: wrong value"); return
        sock.close()
        done.append(sum(map(len, values.values())))
    except Exception as error:
        failures.append(f"connection {c}: {type(error).__name__}: {error}")

threads = [threading.Thread(target=client, args=(c,)) for c in range(connections)]
for t in threads: t.start()
for t in threads: t.join(40)
for f in failures: print(f)
print("ok" if not failures and len(done) == connections else "failed", connections * keys, sum(done), flush=True)
sys.exit(0 if not failures and len(done) == connections else 1)
"""


def test_memcached():
    require("memcached")
    user = "memcache" if uid_of("memcache") is not None else "root"
    with new_stack("memcd") as stack, Processes(stack) as procs:
        memcached = procs.wrapped(["memcached", "-U", "0", "-p", MEMCACHED_PORT, "-l", STACK_IP, "-u", user, "-t", "2",
                                   "-m", "256", "-c", "256"], "memcached")
        wait_listening(stack, MEMCACHED_PORT, memcached)
        connections, keys = 4, 500
        result = stack.ns([PYTHON, "-c", MEMCACHED_CLIENT, STACK_IP, str(MEMCACHED_PORT), str(connections), str(keys)],
                          check=False, timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("ok"), \
            f"memcached client: exit {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}\n" \
            f"memcached:\n{memcached.output()[-2000:]}"
        carried(stack, passive=connections, bytes_in=connections * MIB, programs=["memcached"])
        assert memcached.running(), memcached.output()
    stack.check_clean_stop()


# --- curl and wget as clients -----------------------------------------------------------------------------

HTTP_PORT = 8000


def kernel_http_server(procs, directory):
    server = procs.kernel([PYTHON, "-m", "http.server", str(HTTP_PORT), "--bind", KERNEL_IP, "--directory", directory],
                          "kernel http.server")
    wait_ns_listening(procs.stack, HTTP_PORT, server)
    return server


def client_case(name, fetch):
    """fetch(directory, url, path) -> cmd: an HTTP client under synwave-run fetching an 8 MiB random
    file and a small one from a kernel server in the namespace; sha256 compared."""
    directory = workdir(name)
    served = os.path.join(directory, "served")
    os.mkdir(served)
    sums = {"big.bin": random_file(os.path.join(served, "big.bin"), 8 * MIB, 88),
            "small.txt": random_file(os.path.join(served, "small.txt"), 1000, 89)}
    with new_stack(name) as stack, Processes(stack) as procs:
        kernel_http_server(procs, served)
        for file, expected in sums.items():
            path = os.path.join(directory, f"got-{file}")
            client = procs.wrapped(fetch(f"http://{KERNEL_IP}:{HTTP_PORT}/{file}", path), f"{name} {file}")
            code = client.wait(60)
            assert code == 0, f"{client.name}: exit {code}:\n{client.output()[-3000:]}"
            got = sha256_file(path)
            assert got == expected, f"{file}: sha256 {got}, expected {expected} ({os.path.getsize(path)} bytes)"
        carried(stack, active=2, bytes_in=8 * MIB)
    stack.check_clean_stop()


def test_curl_client():
    require("curl")
    client_case("curl", lambda url, path: ["curl", "-sS", "--fail", "--max-time", "30", "-o", path, url])


def test_wget_client():
    require("wget")
    client_case("wget", lambda url, path: ["wget", "-q", "--tries=1", "--timeout=20", "-O", path, url])


# --- iperf3 ---------------------------------------------------------------------------------------------------

IPERF_BYTES = 64 * MIB


def json_objects(text):
    """Every top-level JSON object in text (iperf3 --json servers print one per test)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) >= 0:
        try:
            obj, i = decoder.raw_decode(text, i)
            found.append(obj)
        except ValueError:
            i += 1
    return found


def iperf_counts(result, who):
    """(bytes sent, bytes received) from an iperf3 --json report; fails on its error."""
    assert "error" not in result, f"{who}: iperf3 error: {result['error']}"
    end = result["end"]
    return end["sum_sent"]["bytes"], end["sum_received"]["bytes"]


# iperf3 3.12's receiver stops counting when the sender's TEST_END arrives on the control
# connection, which can overtake the last data still in flight: even kernel to kernel over a veth
# the client's report says sent 67239936, received 65273856 about one run in three. Equality is what
# a complete transfer gives, and usual; a shortfall beyond what can be in flight (socket buffers of
# both ends, a few MiB) is a loss.
IPERF_IN_FLIGHT = 16 * MIB


def iperf_client(cmd, who):
    """Runs an iperf3 client (cmd: a full command with --json) and checks its own counters;
    returns (sent, received)."""
    result = harness.run(cmd, check=False, timeout=30)
    reports = json_objects(result.stdout)
    assert result.returncode == 0 and reports, f"{who}: exit {result.returncode}:\n{result.stdout[-3000:]}{result.stderr}"
    sent, received = iperf_counts(reports[-1], who)
    assert sent >= IPERF_BYTES, f"{who}: sent {sent} bytes, asked for {IPERF_BYTES}"
    assert sent - IPERF_IN_FLIGHT <= received <= sent, f"{who}: iperf3 counted {sent} bytes sent and {received} received"
    if received != sent:
        print(f"   {who}: iperf3 counted {sent} sent, {received} received (its receiver stops at TEST_END)")
    return sent, received


def iperf_server_reports(server, count):
    server.signal(signal.SIGTERM)
    server.wait(10)
    # One report per test; SIGTERM adds one more, with an empty "end" and an "interrupt" error.
    reports = [r for r in json_objects(server.output()) if r.get("end")]
    assert len(reports) == count, f"{server.name} printed {len(reports)} reports:\n{server.output()[-3000:]}"
    return reports


def test_iperf3_server():
    require("iperf3")
    port = 5201
    with new_stack("ipsrv") as stack, Processes(stack) as procs:
        server = procs.wrapped(["iperf3", "-s", "-B", STACK_IP, "-p", port, "--json"], "iperf3 -s")
        wait_listening(stack, port, server)
        client = ["ip", "netns", "exec", stack.netns, "iperf3", "-c", STACK_IP, "-p", str(port), "-n", str(IPERF_BYTES),
                  "--json"]
        _, received = iperf_client(client, "kernel client -> iperf3 server")
        sent_back, _ = iperf_client(client + ["-R"], "kernel client <- iperf3 server (-R)")
        forward, reverse = iperf_server_reports(server, 2)
        assert iperf_counts(forward, "iperf3 -s")[1] == received, forward["end"]
        assert iperf_counts(reverse, "iperf3 -s (-R)")[0] == sent_back, reverse["end"]
        carried(stack, passive=4, bytes_in=received, bytes_out=sent_back)
    stack.check_clean_stop()


def test_iperf3_client():
    require("iperf3")
    port = 5202
    with new_stack("ipcli") as stack, Processes(stack) as procs:
        server = procs.kernel(["iperf3", "-s", "-B", KERNEL_IP, "-p", port, "--json"], "kernel iperf3 -s")
        wait_ns_listening(stack, port, server)
        client = stack.wrap(["iperf3", "-c", KERNEL_IP, "-p", str(port), "-n", str(IPERF_BYTES), "--json"])
        _, received = iperf_client(client, "iperf3 client -> kernel server")
        sent_back, _ = iperf_client(client + ["-R"], "iperf3 client <- kernel server (-R)")
        forward, reverse = iperf_server_reports(server, 2)
        assert iperf_counts(forward, "kernel iperf3 -s")[1] == received, forward["end"]
        assert iperf_counts(reverse, "kernel iperf3 -s (-R)")[0] == sent_back, reverse["end"]
        carried(stack, active=4, bytes_in=sent_back - IPERF_IN_FLIGHT, bytes_out=received)
    stack.check_clean_stop()


# --- python3 --------------------------------------------------------------------------------------------------

ECHO = os.path.join(HERE, "preload_echo.py")
ECHO_CONNECTIONS, ECHO_BYTES = 4, 2 * MIB


def python_server_case(name, mode, port):
    """preload_echo.py's server under synwave-run, its client on the kernel."""
    with new_stack(name) as stack, Processes(stack) as procs:
        server = procs.wrapped([PYTHON, ECHO, f"{mode}-server", STACK_IP, port, ECHO_CONNECTIONS], f"{mode} server")
        server.expect(rf"^listening {port}$", timeout=15)
        wait_listening(stack, port, server)
        client = procs.kernel([PYTHON, ECHO, f"{mode}-client", STACK_IP, port, ECHO_CONNECTIONS, ECHO_BYTES],
                              f"kernel {mode} client")
        code = client.wait(45)
        assert code == 0, f"kernel {mode} client exit {code}:\n{client.output()[-3000:]}\nserver:\n{server.output()[-3000:]}"
        client.expect(rf"^ok connections={ECHO_CONNECTIONS} bytes={ECHO_BYTES}$", timeout=0)
        assert server.wait(15) == 0, server.output()
        server.expect(rf"^echoed {ECHO_CONNECTIONS * ECHO_BYTES}$", timeout=0)
        total = ECHO_CONNECTIONS * ECHO_BYTES
        carried(stack, passive=ECHO_CONNECTIONS, bytes_in=total, bytes_out=total)
    stack.check_clean_stop()


def python_client_case(name, mode, port):
    """preload_echo.py's client under synwave-run, its server on the kernel."""
    with new_stack(name) as stack, Processes(stack) as procs:
        server = procs.kernel([PYTHON, ECHO, f"{mode}-server", KERNEL_IP, port, ECHO_CONNECTIONS], f"kernel {mode} server")
        server.expect(rf"^listening {port}$", timeout=15)
        client = procs.wrapped([PYTHON, ECHO, f"{mode}-client", KERNEL_IP, port, ECHO_CONNECTIONS, ECHO_BYTES],
                               f"{mode} client")
        code = client.wait(45)
        assert code == 0, f"{mode} client exit {code}:\n{client.output()[-3000:]}\nserver:\n{server.output()[-3000:]}"
        client.expect(rf"^ok connections={ECHO_CONNECTIONS} bytes={ECHO_BYTES}$", timeout=0)
        assert server.wait(15) == 0, server.output()
        server.expect(rf"^echoed {ECHO_CONNECTIONS * ECHO_BYTES}$", timeout=0)
        total = ECHO_CONNECTIONS * ECHO_BYTES
        carried(stack, active=ECHO_CONNECTIONS, bytes_in=total, bytes_out=total)
    stack.check_clean_stop()


def test_python_threads_server():
    python_server_case("pyts", "threads", 7000)


def test_python_threads_client():
    python_client_case("pytc", "threads", 7001)


def test_python_asyncio_server():
    python_server_case("pyas", "asyncio", 7002)


def test_python_asyncio_client():
    python_client_case("pyac", "asyncio", 7003)


# --- no daemon --------------------------------------------------------------------------------------------------

def test_no_daemon_fails_naming_the_prefix():
    if KERNEL_MODE:
        raise Skipped("--kernel: no synwave-run")
    code = ("import socket; s = socket.socket(); s.settimeout(5); "
            f"s.connect(('{KERNEL_IP}', 9)); print('connected')")
    result = harness.run([synwave_run(), "--prefix", "nosuch", "--", PYTHON, "-c", code], check=False, timeout=20)
    assert result.returncode != 0, f"exit 0 without a daemon:\n{result.stdout}{result.stderr}"
    assert "connected" not in result.stdout, result.stdout
    assert "nosuch" in result.stderr, f"stderr does not name the prefix:\n{result.stderr}"


TESTS = [test_nginx_sendfile_on,
         test_nginx_sendfile_off,
         test_nginx_reload_keeps_serving,
         test_redis,
         test_memcached,
         test_curl_client,
         test_wget_client,
         test_iperf3_server,
         test_iperf3_client,
         test_python_threads_server,
         test_python_threads_client,
         test_python_asyncio_server,
         test_python_asyncio_client,
         test_no_daemon_fails_naming_the_prefix]


def main(argv):
    global KERNEL_MODE
    if "--kernel" in argv:
        KERNEL_MODE = True
        argv = [a for a in argv if a != "--kernel"]
    if argv[:1] == ["--list"]:
        print("\n".join(t.__name__ for t in TESTS))
        return 0
    by_name = {t.__name__: t for t in TESTS}
    unknown = [n for n in argv if n not in by_name]
    if unknown:
        sys.exit(f"unknown test(s): {unknown}; see --list")
    tests = [by_name[n] for n in argv] or TESTS
    if os.geteuid() != 0:
        print("integration tests need root (TAP devices and network namespaces)")
        return 77
    if KERNEL_MODE:
        print("--kernel: the kernel in synwave's place, programs without synwave-run (checks the test itself)")
    passed = failed = skipped = 0
    for test in tests:
        started = time.monotonic()
        try:
            test()
            passed += 1
            print(f"PASS {test.__name__} ({time.monotonic() - started:.2f}s)", flush=True)
        except Skipped as why:
            skipped += 1
            print(f"SKIP {test.__name__}: skipped: {why}", flush=True)
        except Exception as error:  # report every failure, then go on with the next case
            failed += 1
            print(f"FAIL {test.__name__} ({time.monotonic() - started:.2f}s): {type(error).__name__}: {error}",
                  flush=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
