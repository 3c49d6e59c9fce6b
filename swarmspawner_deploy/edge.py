"""The stack's public edge: Caddy's configuration, built from the settings.

Caddy terminates HTTPS at PUBLIC_PORT, redirects HTTP_PORT to it, and passes everything on
to the proxy (websockets included). It is configured in JSON, not a Caddyfile, because only
the JSON form can give Caddy's internal issuer a root CA from files (Debian's Caddy is 2.6).
The configuration names files only (the secrets' paths): it is a Docker config, readable back
with `docker config inspect`, and holds no secret.

Caddy listens inside its container on the ports it publishes. HTTP_PORT answers ACME's HTTP
challenges (Caddy does that in any server there) and redirects everything else to
PUBLIC_HOST's HTTPS URL, port included.
"""

import hashlib

SECRETS = "/run/secrets"
#: Where the edge reaches the proxy: the proxy service's name, looked up at every new
#: connection (Go's resolver keeps no answers), so a restarted proxy is found at once.
PROXY_UPSTREAM = "proxy:8000"
HSTS = "max-age=31536000"  # a year; only where the certificate is a real one


def public_url(settings):
    """The URL users type: https://PUBLIC_HOST[:PUBLIC_PORT], or http:// with TLS=off."""
    scheme, default_port = ("http", 80) if settings.TLS == "off" else ("https", 443)
    port = "" if settings.PUBLIC_PORT == default_port else f":{settings.PUBLIC_PORT}"
    return f"{scheme}://{settings.PUBLIC_HOST}{port}"


def internal_ca_id(ca_cert):
    """Caddy's name for the deployment's CA, one per root certificate (``ca_cert``, its PEM
    bytes). Caddy keeps the intermediate it makes, and the certificates that sign, in its volume
    under the CA's name: under a fixed name a replaced root would meet the old root's
    intermediate there and the edge would serve a chain no client can verify."""
    return "ca-" + hashlib.sha256(ca_cert).hexdigest()[:12]


def _issuer(settings, ca_id):
    if settings.TLS == "internal":
        return {"module": "internal", "ca": ca_id}
    issuer = {"module": "acme"}
    if settings.ACME_EMAIL:
        issuer["email"] = settings.ACME_EMAIL
    if settings.ACME_CA:
        issuer["ca"] = settings.ACME_CA
    return issuer


def caddy_config(settings, ca_cert=b""):
    """Caddy's JSON configuration for TLS=internal (``ca_cert``: the CA's certificate, PEM),
    files or acme."""
    ca_id = internal_ca_id(ca_cert)
    host, port = settings.PUBLIC_HOST, settings.PUBLIC_PORT
    to_proxy = [{"handler": "reverse_proxy", "upstreams": [{"dial": PROXY_UPSTREAM}]}]
    if settings.TLS in ("files", "acme"):
        to_proxy.insert(0, {"handler": "headers",
                            "response": {"set": {"Strict-Transport-Security": [HSTS]}}})
    server = {
        "listen": [f":{port}"],
        "routes": [
            {"match": [{"host": [host]}], "handle": to_proxy, "terminal": True},
            # Any other name (the node's address, say): on to the name the certificate is for.
            {"handle": [{"handler": "static_response", "status_code": 308,
                         "headers": {"Location": [f"{public_url(settings)}{{http.request.uri}}"]}}]},
        ],
        # Clients that send no name (an address typed in) get the certificate of PUBLIC_HOST.
        "tls_connection_policies": [{"default_sni": host}],
        # No HTTP/3: its UDP port is not published.
        "protocols": ["h1", "h2"],
        # Caddy's own redirects leave out a port other than 443: the redirect server does it.
        "automatic_https": {"disable_redirects": True},
    }
    redirect = {
        "listen": [f":{settings.HTTP_PORT}"],
        "routes": [{"handle": [{
            "handler": "static_response", "status_code": 308,
            "headers": {"Location": [f"{public_url(settings)}{{http.request.uri}}"]}}]}],
    }
    tls = {}
    if settings.TLS == "files":
        server["automatic_https"]["disable_certificates"] = True
        tls["certificates"] = {"load_files": [
            {"certificate": f"{SECRETS}/tls_cert", "key": f"{SECRETS}/tls_key"}]}
    else:
        tls["automation"] = {"policies": [{"subjects": [host], "issuers": [_issuer(settings, ca_id)]}]}
    config = {
        "admin": {"listen": "localhost:2019", "config": {"persist": False}},
        "apps": {
            "http": {"http_port": settings.HTTP_PORT, "https_port": port,
                     "servers": {"edge": server, "redirect": redirect}},
            "tls": tls,
        },
    }
    if settings.TLS == "internal":
        config["apps"]["pki"] = {"certificate_authorities": {ca_id: {
            "name": f"{settings.STACK_NAME} internal CA",
            "install_trust": False,
            "root": {"format": "pem_file", "certificate": f"{SECRETS}/ca_cert",
                     "private_key": f"{SECRETS}/ca_key"},
        }}}
    return config
