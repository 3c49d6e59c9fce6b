import pytest

from swarmspawner.units import cores_to_nano, nano_to_cores, parse_bytes


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2G", 2 * 1024**3),
        ("512M", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("1.5g", int(1.5 * 1024**3)),
        ("2GiB", 2 * 1024**3),
        ("100", 100),
        (1073741824, 1073741824),
    ],
)
def test_parse_bytes(value, expected):
    assert parse_bytes(value) == expected


@pytest.mark.parametrize("value", ["lots", "2 GB of RAM", "-1G", -5, True, "G"])
def test_parse_bytes_names_the_setting(value):
    with pytest.raises(ValueError, match="mem_limit"):
        parse_bytes(value, "mem_limit")


def test_cpu_conversions_round_trip():
    assert cores_to_nano(1.5) == 1_500_000_000
    assert cores_to_nano(nano_to_cores(1000)) == 1000
