"""Small named exceptions under one root; the CLI edge turns them into ``Error: ...`` and an exit code."""


class CollectorError(Exception):
    """Root of every error this project raises on purpose."""

    exit_code = 1


class ConfigError(CollectorError):
    """The configuration file is missing, unreadable, or has an unknown key or a wrong type."""

    exit_code = 2


class DatabaseError(CollectorError):
    """collector.db is not ours, is from a newer version, or mixes data sources."""

    exit_code = 2


class SinkUnavailable(CollectorError):
    """No sink acknowledged within the bounded wait."""

    exit_code = 3


class ApiError(CollectorError):
    """An exchange API answered in a way retrying will not fix (403 HTML, 422, bad shape)."""


class UsageError(CollectorError):
    """A command-line value that cannot work (bad date, unwritable --out, missing --wwatcher file)."""

    exit_code = 2


class SinkNotRunning(CollectorError):
    """Checked before work starts: nothing listens at the sink's endpoint (start the collector first)."""

    exit_code = 2
