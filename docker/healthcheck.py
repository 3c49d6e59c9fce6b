#!/usr/bin/python3
"""Docker HEALTHCHECK for the hub and single-user images: ``healthcheck http://HOST:PORT/PATH``.

Healthy when the server answers HTTP at all with a status below 500: a 403 from an
API that wants a token still proves the process is serving. A HOST of ``*`` is the
address this container listens on at PORT: the hub and the proxy's API listen on one
address of the hub's private network only, not on localhost.

It runs every 2 s in the stack (Swarm gives a task its DNS name only after its first
passing check, so the interval is part of every restart's recovery), hence cheap: the
system python3 and the socket module only, no shell, no HTTP library (measured in the hub's
container: a third of the time urllib and a second Python to find the address took).
"""
import socket
import struct
import sys

_LISTEN = "0A"  # the state column of /proc/net/tcp


def listening_address(port):
    """The IPv4 address a socket of this network namespace listens on at ``port``
    (127.0.0.1 for one that listens on every address)."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == _LISTEN and int(hex_port, 16) == port:
                # The kernel prints the address as a number in the host's byte order.
                found = socket.inet_ntoa(struct.pack("=I", int(address, 16)))
                return "127.0.0.1" if found == "0.0.0.0" else found
    raise OSError(f"nothing listens on port {port}")


def status(url):
    """The HTTP status with which the server at ``url`` answers a GET."""
    scheme, _, rest = url.partition("://")
    if scheme != "http":
        raise ValueError("not an http:// URL")
    host_port, _, path = rest.partition("/")
    host, _, port = host_port.partition(":")
    port = int(port or 80)
    if host == "*":
        host = listening_address(port)
    with socket.create_connection((host, port), timeout=8) as connection:
        connection.sendall(f"GET /{path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        first_line = connection.makefile("rb").readline(200)  # b"HTTP/1.1 200 OK\r\n"
    return int(first_line.split()[1])


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        sys.exit(status(url) >= 500)
    except Exception as e:  # refused, timed out, no answer, bad URL: not serving
        print(f"healthcheck: {url}: {e}", file=sys.stderr)
        sys.exit(1)
