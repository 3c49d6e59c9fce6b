"""Picking the stable address servers reach the hub at, from the Engine API's answers."""

from swarmspawner import hubaddress


def service(name, ports=(), stack=None):
    labels = {"com.docker.stack.namespace": stack} if stack else {}
    return {"ID": name + "-id", "Spec": {"Name": name, "Labels": labels},
            "Endpoint": {"Ports": list(ports)}}


def test_a_service_by_its_name_or_its_stack_local_name():
    services = [service("jupyterhub_proxy", stack="jupyterhub"), service("proxy-old")]
    assert hubaddress.find_service(services, "jupyterhub_proxy")["Spec"]["Name"] == "jupyterhub_proxy"
    assert hubaddress.find_service(services, "proxy")["Spec"]["Name"] == "jupyterhub_proxy"
    # Two stacks' proxies: which one is not guessed.
    services.append(service("other_proxy", stack="other"))
    assert hubaddress.find_service(services, "proxy") is None
    assert hubaddress.find_service(services, "nothing") is None


def test_only_host_mode_ports_count():
    ingress = {"TargetPort": 8000, "PublishedPort": 8000, "PublishMode": "ingress"}
    host = {"TargetPort": 8000, "PublishedPort": 18000, "PublishMode": "host"}
    api = {"TargetPort": 8081, "PublishedPort": 18081, "PublishMode": "host"}
    assert hubaddress.host_mode_port(service("s", [ingress])) is None
    assert hubaddress.host_mode_port(service("s", [ingress, host])) == 18000
    assert hubaddress.host_mode_port(service("s", [host, api]), preferred_target=8081) == 18081


def test_the_node_address_others_reach():
    assert hubaddress.node_address({"Status": {"Addr": "10.0.0.5"}}) == "10.0.0.5"
    assert hubaddress.node_address({"Status": {"Addr": "0.0.0.0"},
                                    "ManagerStatus": {"Addr": "10.0.0.6:2377"}}) == "10.0.0.6"
    assert hubaddress.node_address({"Status": {"Addr": "0.0.0.0"}}) is None
    single = hubaddress.node_address({"Status": {"Addr": "127.0.0.1"}})
    assert single == "127.0.0.1" and hubaddress.is_loopback(single)
    assert not hubaddress.is_loopback("10.0.0.5")


def test_the_running_tasks_node():
    running = {"DesiredState": "running", "Status": {"State": "running"}, "NodeID": "n1"}
    starting = {"DesiredState": "running", "Status": {"State": "starting"}, "NodeID": "n2"}
    assert hubaddress.running_node_id([running]) == "n1"
    assert hubaddress.running_node_id([starting]) is None
    assert hubaddress.running_node_id([]) is None
