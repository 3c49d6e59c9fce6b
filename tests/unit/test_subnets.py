"""The deploy's subnet check (stack.subnet_in_use, stack.free_subnet): pure over a listing."""
import ipaddress

from swarmspawner_deploy.stack import free_subnet, subnet_in_use


def net(name, stack, subnet):
    return name, stack, ipaddress.ip_network(subnet)


NETWORKS = [
    net("ingress", None, "10.0.0.0/24"),
    net("docker_gwbridge", None, "172.18.0.0/16"),
    net("first_control", "first", "10.213.213.0/24"),
    net("first_users", None, "10.213.0.0/24"),
]


def test_another_stacks_network_is_named_with_its_subnet():
    assert subnet_in_use(NETWORKS, "10.213.213.0/24", "second") == (
        "first_control", "10.213.213.0/24")


def test_a_wider_subnet_that_covers_another_network_clashes():
    assert subnet_in_use(NETWORKS, "172.16.0.0/12", "second") == (
        "docker_gwbridge", "172.18.0.0/16")


def test_the_stacks_own_network_from_an_earlier_deploy_does_not_count():
    assert subnet_in_use(NETWORKS, "10.213.213.0/24", "first") is None


def test_the_suggestion_avoids_every_network_even_the_stacks_own():
    assert free_subnet(NETWORKS) == "10.213.1.0/24"


def test_ipv6_networks_never_clash_with_an_ipv4_subnet():
    assert subnet_in_use([net("v6", None, "fd00::/8")], "10.213.213.0/24") is None
