"""Errors a user sees on the spawn page."""

from tornado import web


class SpawnError(web.HTTPError):
    """A spawn failed for a reason the user should read.

    JupyterHub shows ``jupyterhub_message`` on the spawn-pending page and in the REST API
    instead of a generic "Unhandled error". An HTTPError, because a start that fails within
    JupyterHub's first second (a command the image lacks) reaches the user through the spawn
    form's handler, which passes on only HTTPErrors and shows their text.
    """

    def __init__(self, message):
        super().__init__(500)
        self.args = (message,)
        self.jupyterhub_message = message

    def __str__(self):
        return self.jupyterhub_message
