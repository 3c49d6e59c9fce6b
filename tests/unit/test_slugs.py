import re

import pytest

from swarmspawner import slugs

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def test_simple_names_are_kept_readable():
    assert slugs.service_name("jupyter", "alice") == "jupyter-alice--1"
    assert slugs.service_name("jupyter", "alice", "gpu") == "jupyter-alice--gpu"


@pytest.mark.parametrize(
    "username, servername",
    [
        ("Alice", ""),
        ("alice@example.org", ""),
        ("ünïcødé", "my server"),
        ("a" * 200, "b" * 200),
        ("-", "-"),
        ("x" * 30, "y" * 30),
        ("1234", "1"),
    ],
)
def test_every_name_is_a_dns_label(username, servername):
    name = slugs.service_name("jupyter", username, servername)
    assert DNS_LABEL.match(name), name
    assert len(name) <= 63


def test_different_users_never_share_a_name():
    # Pairs that look alike once lowercased or stripped, and pairs that try to
    # shift the hyphen between the user and the server part.
    cases = [
        ("alice", ""),
        ("Alice", ""),
        ("alice.", ""),
        ("alice-1", ""),
        ("alice", "1"),
        ("alice-1", "x"),
        ("alice", "1-x"),
        ("a-b", "c"),
        ("a", "b-c"),
        ("a" * 80, ""),
        ("a" * 80 + "b", ""),
        ("a" * 80, "x"),
    ]
    names = [slugs.service_name("jupyter", u, s) for u, s in cases]
    assert len(set(names)) == len(names), names


def test_default_server_suffix_differs_from_a_server_named_1():
    assert slugs.service_name("p", "alice", "") != slugs.service_name("p", "alice", "1")


@pytest.mark.parametrize("prefix", ["", "Jupyter", "a_b", "-x", "a--b", "x" * 21])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError, match="service_prefix"):
        slugs.check_prefix(prefix)


def test_md5_username_is_what_the_original_used():
    assert slugs.md5_username("alice") == "6384e2b2184bcbf58eccf10ca7a6563c"
