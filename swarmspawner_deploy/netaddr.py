"""This container's own address in a subnet: where a service binds a port that only the
containers of one network may reach (the proxy's API on the hub's private network).

    swarmspawner-address-in 10.213.213.0/24
"""

import fcntl
import ipaddress
import socket
import struct
import sys

_SIOCGIFADDR = 0x8915


def addresses():
    """Every IPv4 address of this network namespace's interfaces."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(s.fileno(), _SIOCGIFADDR,
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # an interface without an IPv4 address
            yield ipaddress.ip_address(answer[20:24])


def address_in(subnet):
    network = ipaddress.ip_network(subnet)
    for address in addresses():
        if address in network:
            return str(address)
    raise LookupError(f"this container has no address in {subnet}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        print(address_in(argv[0]))
    except (IndexError, ValueError, LookupError) as e:
        sys.exit(f"swarmspawner-address-in SUBNET: {e}")


if __name__ == "__main__":
    main()
