"""The one exception a refused action raises, wherever it is refused."""


class Refused(Exception):
    """An action that is not allowed; `code` and `message` are what the client is told."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message
