"""NativeAuthenticator (sign-up and admin approval) made to run on JupyterHub 6.

NativeAuthenticator 1.3.0, the newest release, times logins with the handlers' ``statsd``
client, which JupyterHub 6 no longer has: every login answered HTTP 500. Its login handler
gets a client that does nothing; nothing else is changed. Drop this module when a release
of NativeAuthenticator supports JupyterHub 6.
"""

from nativeauthenticator import handlers
from nativeauthenticator.nativeauthenticator import NativeAuthenticator as _Native


class _NoTimer:
    def start(self):
        return self

    def stop(self, send=True):
        pass


class _NoStatsd:
    def timer(self, _name):
        return _NoTimer()


class LoginHandler(handlers.LoginHandler):
    statsd = _NoStatsd()


class NativeAuthenticator(_Native):
    def get_handlers(self, app):
        return [(path, LoginHandler if handler is handlers.LoginHandler else handler)
                for path, handler in super().get_handlers(app)]
