"""``cachewright.patterns.queues.redis``, as documented before it moved to ``write_behind/``."""

from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue, queue_name_for

__all__ = ["RedisWriteQueue", "queue_name_for"]
