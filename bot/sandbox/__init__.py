"""A local stand-in for Slack: a recording Web API on 127.0.0.1 and correctly signed requests.

Used by ``rhythm demo``, the benchmarks and the tests, so the real app path runs without a Slack account.
"""
