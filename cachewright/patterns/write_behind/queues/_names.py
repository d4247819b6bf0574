"""What the write queue names: a queue's default name for a key format, and the form
of its dead letter ids (both used by the CLI to check what a user typed).

Usage::

    queue_name_for("profile:{}")            # "profile"
    is_dead_letter_id("3/1700000000000-0")  # True
"""

from __future__ import annotations

import re

from cachewright.errors import ConfigurationError
from cachewright.patterns.write_behind.queues._partitions import parse_receipt

__all__ = ["is_dead_letter_id", "queue_name_for"]


def is_dead_letter_id(text: str) -> bool:
    """Whether ``text`` has the form of a dead letter id of this queue,
    ``"<partition>/<stream entry id>"`` (``"3/1700000000000-0"``).

    >>> is_dead_letter_id("3/1700000000000-0"), is_dead_letter_id("nonsense")
    (True, False)
    """
    return parse_receipt(text) is not None


def queue_name_for(key: object) -> str:
    """The default queue name for a write-behind key format: its text before the
    placeholder (``"profile:{}"`` -> ``"profile"``). A callable key has no name to
    derive: pass one explicitly.

    >>> queue_name_for("shop/order:{}")
    'shop_order'
    """
    if not isinstance(key, str):
        raise ConfigurationError("a callable key needs an explicit queue name")
    name = _NOT_IN_NAME.sub("_", key.partition("{")[0].rstrip(":_-.")).strip("_")
    return name[:64] or "default"


_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")
