"""TLS=internal: the deployment's own certificate authority.

The deploy makes it once, beside the env file (envfile.INTERNAL_CA_CERT and _KEY), and the
edge (Caddy's internal issuer) signs short-lived certificates with it, renewing them itself.
A CA kept beside the env file, rather than one Caddy makes in its own storage, survives the
edge moving to another node or being redeployed: browsers that trust it keep trusting it.
"""

import datetime
import os
from pathlib import Path

from .envfile import INTERNAL_CA_CERT, INTERNAL_CA_KEY

CA_YEARS = 10


def ensure_internal_ca(base_dir, stack):
    """Make the CA's certificate and key under ``base_dir`` unless both exist; returns the
    certificate's path and whether it was made now."""
    cert_path, key_path = Path(base_dir, INTERNAL_CA_CERT), Path(base_dir, INTERNAL_CA_KEY)
    if cert_path.is_file() and key_path.is_file():
        return cert_path, False
    # Only here: the manager runs the deploy with Debian's packages and never gets this far
    # (the playbook makes the CA on the controller and copies it).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "swarmspawner"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{stack} internal CA"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, True


def main(argv=None):
    """python -m swarmspawner_deploy.tls ca ENV: make the internal CA beside ENV if TLS=internal (the playbook's
    first step on the controller); prints the certificate's path."""
    import sys

    from .envfile import EnvError, load

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "ca":
        print("usage: python -m swarmspawner_deploy.tls ca ENV_FILE", file=sys.stderr)
        return 2
    try:
        env = load(argv[1], check_files=False)
    except EnvError as e:
        print("; ".join(e.problems), file=sys.stderr)
        return 1
    if env.TLS != "internal":
        print("-")
        return 0
    path, made = ensure_internal_ca(os.path.dirname(os.path.abspath(argv[1])), env.STACK_NAME)
    print(f"{'made' if made else 'kept'} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
