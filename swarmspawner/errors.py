"""Errors a user sees on the spawn page."""


class SpawnError(Exception):
    """A spawn failed for a reason the user should read.

    JupyterHub shows ``jupyterhub_message`` on the spawn-pending page and in the
    REST API instead of a generic "Unhandled error".
    """

    def __init__(self, message):
        super().__init__(message)
        self.jupyterhub_message = message
