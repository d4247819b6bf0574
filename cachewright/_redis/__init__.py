"""Private Redis plumbing shared by the cache backend, the durable queue and the channel.

``url`` parses Redis URLs and opens clients, ``errors`` maps redis-py errors onto
cachewright's tree, ``lua`` runs scripts by SHA, ``lane`` is the kept-connection lane,
``futures`` fails the callers of a request that failed as a whole.
"""
