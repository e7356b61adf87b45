"""Processes a test starts: each in a session of its own (so that stopping it reaches its
children: nginx's workers, redis's BGSAVE child, a forked shim-tool worker), its stdout and stderr
read line by line by a thread, expect() on its lines, and everything stopped when the test ends,
whatever happened (a with-block, and an exit handler for the rest)."""

import atexit
import os
import re
import signal
import subprocess
import threading
import time

import harness  # noqa: F401  (imported first: its exit handler must run after ours)

_live_processes = []


@atexit.register
def _kill_all():
    # Registered after harness's own handler, so it runs first: programs go before the daemon.
    for process in list(_live_processes):
        process.stop()


class Process:
    """A process in a session of its own (so that stop() reaches its children: nginx's workers,
    redis's BGSAVE child), stdout and stderr read line by line by a thread."""

    def __init__(self, cmd, name, env=None):
        self.name = name
        self.cmd = [str(part) for part in cmd]
        self.lines = []
        self._seen = 0
        self._cond = threading.Condition()
        self._eof = False
        self.process = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace",
                                        start_new_session=True, env=env)
        _live_processes.append(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def pid(self):
        return self.process.pid

    def running(self):
        return self.process.poll() is None

    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def expect(self, pattern, timeout=10):
        """Waits for the next line matching pattern (re.search); returns the match."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._seen, len(self.lines)):
                    match = re.search(pattern, self.lines[i])
                    if match:
                        self._seen = i + 1
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._eof:
                    state = f"exited {self.process.poll()}" if self._eof else f"no such line after {timeout}s"
                    raise AssertionError(f"{self.name}: no line matching {pattern!r} ({state}); output:\n"
                                         f"{self.output()[-4000:]}")
                self._cond.wait(remaining)

    def wait(self, timeout):
        """Waits for the exit; returns the exit code (negative: the signal). Raises after timeout."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout:.1f}s; output:\n{self.output()[-4000:]}")
        self._reader.join(timeout=5)
        return code

    def signal(self, signum):
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self):
        """SIGKILL to the whole process group if anything of it still runs; idempotent."""
        if self in _live_processes:
            _live_processes.remove(self)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=5)
        self.process.stdout.close()


class Processes:
    """The processes one test starts; all stopped when the with-block ends. Tests add their own
    ways of starting what they need."""

    def __init__(self, stack):
        self.stack = stack
        self.started = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in reversed(self.started):
            process.stop()
        return False

    def start(self, cmd, name, env=None):
        process = Process(cmd, name, env)
        self.started.append(process)
        return process
