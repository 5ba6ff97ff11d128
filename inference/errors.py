"""The one error type the engine raises: its message tells a user what to change."""


class InferenceError(ValueError):
    """Input the engine cannot work with (no face, silent audio, unknown language, ...)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail
