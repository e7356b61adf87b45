"""synwave-httpd on net_tap, served to kernel clients (curl, a raw socket) in a namespace:
a plain GET, keep-alive across two requests on one connection, Connection: close, and three
pipelined requests in one write."""

import re
import sys

import harness


class Httpd(harness.Stack):
    """synwave-httpd instead of the daemon; it prints "ready" once it listens."""
    binary_env = "SYNWAVE_HTTPD_BIN"
    ready_line = "ready\n"


URL = f"http://{harness.STACK_IP}/"


def curl(stack, *args):
    return stack.ns(["curl", "-s", "--max-time", "10", *args]).stdout


def kernel_python(stack, code):
    return stack.ns([sys.executable, "-c", code]).stdout


def test_get_returns_fixed_body_with_content_length():
    with Httpd("hget", args=["--response-size", "1000"]) as httpd:
        out = curl(httpd, "-D", "-", URL)  # text mode: CRLF arrives as LF
        head, _, body = out.partition("\n\n")
        assert head.startswith("HTTP/1.1 200 OK"), out
        assert re.search(r"(?im)^content-length: 1000$", head), head
        assert len(body) == 1000, len(body)
    assert httpd.exit_code == 0, httpd.output
    assert "all" in httpd.output and "mbufs returned" in httpd.output, httpd.output


def test_keep_alive_reuses_one_connection():
    with Httpd("hkeep") as httpd:
        result = httpd.ns(["curl", "-sv", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null", URL, URL])
        assert "Re-using existing connection" in result.stderr or "Reusing existing connection" in result.stderr, \
            result.stderr
        assert result.stderr.count("< HTTP/1.1 200 OK") == 2, result.stderr
        assert httpd.counters()["tcp_passive_opens"] == 1, httpd.counters()


def test_connection_close_is_honoured():
    with Httpd("hclose") as httpd:
        code = (
            "import socket\n"
            f"s = socket.create_connection(('{harness.STACK_IP}', 80), timeout=10)\n"
            "s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    data += chunk\n"
            "print(repr(data))\n")
        out = kernel_python(httpd, code)
        assert out.startswith("b'HTTP/1.1 200 OK"), out
        assert "Connection: close" in out, out
        assert out.count("HTTP/1.1") == 1, out  # and the server closed: recv returned b''
        # HTTP/1.0 without keep-alive closes too
        out10 = kernel_python(httpd, code.replace("HTTP/1.1\\r\\nHost: x\\r\\nConnection: close", "HTTP/1.0"))
        assert out10.startswith("b'HTTP/1.1 200 OK"), out10


def test_three_pipelined_requests_get_three_responses():
    with Httpd("hpipe", args=["--response-size", "64"]) as httpd:
        code = (
            "import socket, time\n"
            f"s = socket.create_connection(('{harness.STACK_IP}', 80), timeout=10)\n"
            "req = b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'\n"
            "s.sendall(req * 2 + b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    data += chunk\n"
            "print(data.count(b'HTTP/1.1 200 OK'), len(data))\n")
        count, length = kernel_python(httpd, code).split()
        assert count == "3", (count, length)


def test_oversized_header_gets_431():
    with Httpd("hbig") as httpd:
        code = (
            "import socket\n"
            f"s = socket.create_connection(('{harness.STACK_IP}', 80), timeout=10)\n"
            "s.sendall(b'GET / HTTP/1.1\\r\\nX-Big: ' + b'a' * 9000)\n"
            "data = b''\n"
            "while True:\n"
            "    try:\n"
            "        chunk = s.recv(65536)\n"
            "    except ConnectionResetError:\n"
            "        break\n"
            "    if not chunk: break\n"
            "    data += chunk\n"
            "print(data.split(b'\\r\\n')[0].decode())\n")
        out = kernel_python(httpd, code)
        assert out.startswith("HTTP/1.1 431"), out


if __name__ == "__main__":
    sys.exit(harness.main([test_get_returns_fixed_body_with_content_length,
                           test_keep_alive_reuses_one_connection,
                           test_connection_close_is_honoured,
                           test_three_pipelined_requests_get_three_responses,
                           test_oversized_header_gets_431]))
