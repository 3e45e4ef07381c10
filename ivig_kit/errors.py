"""Error types shared by the kit."""


class InputError(ValueError):
    """A user's input the kit cannot use; its message is for people, so the CLI prints it without a traceback."""
