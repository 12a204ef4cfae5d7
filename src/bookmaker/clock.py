"""The one place that reads the clock; honours SOURCE_DATE_EPOCH for reproducible builds."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from bookmaker.errors import UsageError, shown


def build_datetime() -> datetime:
    """Return the build time in UTC: ``SOURCE_DATE_EPOCH`` when set, else now.

    See https://reproducible-builds.org/specs/source-date-epoch/
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise UsageError(
                f"SOURCE_DATE_EPOCH={shown(epoch)} is not a number of seconds since 1970 (such as 1780000000); set it right or unset it"
            ) from None
    return datetime.now(tz=timezone.utc).replace(microsecond=0)
