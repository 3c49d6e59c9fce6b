"""How users log in: the authenticator AUTHENTICATOR names, configured from the settings.

:func:`login_config` is pure: settings and a reader of the hub's secrets in, JupyterHub
configuration out ({class name: {trait: value}}), so that each choice is tested without a hub.
Secret values (client secret, search password) come only from the secret reader, never from
the settings, which are a Docker config.
"""

from .edge import public_url

CLASSES = {
    # NativeAuthenticator, with a fix for JupyterHub 6 (nativeauth.py)
    "native": "swarmspawner_deploy.nativeauth.NativeAuthenticator",
    "github": "oauthenticator.github.GitHubOAuthenticator",
    "generic": "oauthenticator.generic.GenericOAuthenticator",
    "ldap": "ldapauthenticator.LDAPAuthenticator",
    "dummy": "jupyterhub.authenticators.shared.SharedPasswordAuthenticator",
}
SECRETS = "/run/secrets"


def login_config(settings, secret):
    """{class name: {trait: value}} for the settings' AUTHENTICATOR; ``secret(name)`` reads
    the hub's secret of that name."""
    kind = settings.AUTHENTICATOR
    auth = {"admin_users": set(settings.ADMIN_USERS)}
    config = {"JupyterHub": {"authenticator_class": CLASSES.get(kind, kind)},
              "Authenticator": auth}
    if kind == "dummy":
        config["SharedPasswordAuthenticator"] = {"user_password": secret("lab_password")}
        auth["allow_all"] = True
    elif kind == "native":
        # NativeAuthenticator keeps its own list of approved accounts.
        auth["allow_all"] = True
        config["NativeAuthenticator"] = {"open_signup": settings.OPEN_SIGNUP,
                                         "check_common_password": True,
                                         "minimum_password_length": 8}
    elif kind in ("github", "generic"):
        oauth = {"client_id": settings.OAUTH_CLIENT_ID,
                 "client_secret": secret("oauth_client_secret"),
                 "oauth_callback_url": f"{public_url(settings)}/hub/oauth_callback"}
        auth.update(_allowed(settings))
        if kind == "github":
            config["GitHubOAuthenticator"] = {
                **oauth, "allowed_organizations": set(settings.GITHUB_ALLOWED_ORGANIZATIONS)}
        else:
            config["GenericOAuthenticator"] = {
                **oauth,
                "authorize_url": settings.OAUTH_AUTHORIZE_URL,
                "token_url": settings.OAUTH_TOKEN_URL,
                "userdata_url": settings.OAUTH_USERDATA_URL,
                "scope": list(settings.OAUTH_SCOPES),
                "username_claim": settings.OAUTH_USERNAME_CLAIM,
                "manage_groups": bool(settings.OAUTH_ALLOWED_GROUPS),
                "auth_state_groups_key": f"oauth_user.{settings.OAUTH_GROUPS_CLAIM}",
                "allowed_groups": set(settings.OAUTH_ALLOWED_GROUPS),
                "login_service": settings.OAUTH_LOGIN_SERVICE,
            }
    elif kind == "ldap":
        auth.update(_allowed(settings))
        config["LDAPAuthenticator"] = _ldap(settings, secret)
    return config


def _allowed(settings):
    # The admins too: JupyterHub lets in no one outside the allowed users, organisations or
    # groups, admins included, and an admin must be able to log in whatever the groups say.
    allowed = {"allowed_users": set(settings.ALLOWED_USERS) | set(settings.ADMIN_USERS)}
    if settings.ALLOW_ALL_USERS:
        allowed["allow_all"] = True
    return allowed


def _ldap(settings, secret):
    scheme, _, hostport = settings.LDAP_SERVER.partition("://")
    host, _, port = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
    if scheme == "ldaps":
        strategy = "on_connect"
    else:
        strategy = "insecure" if settings.LDAP_INSECURE else "before_bind"
    ldap = {"server_address": host, "tls_strategy": strategy,
            "allowed_groups": list(settings.LDAP_ALLOWED_GROUPS)}
    if port:
        ldap["server_port"] = int(port)
    if settings.LDAP_CA_FILE:
        ldap["tls_kwargs"] = {"ca_certs_file": f"{SECRETS}/ldap_ca"}
    if settings.LDAP_BIND_DN_TEMPLATE:
        ldap["bind_dn_template"] = list(settings.LDAP_BIND_DN_TEMPLATE)
    else:
        ldap.update(lookup_dn=True, user_search_base=settings.LDAP_SEARCH_BASE,
                    user_attribute=settings.LDAP_USER_ATTRIBUTE,
                    lookup_dn_user_dn_attribute=settings.LDAP_USER_ATTRIBUTE)
        if settings.LDAP_SEARCH_USER_DN:
            ldap.update(lookup_dn_search_user=settings.LDAP_SEARCH_USER_DN,
                        lookup_dn_search_password=secret("ldap_search_password"))
    return ldap
