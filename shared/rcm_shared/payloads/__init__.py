"""Typed event payloads, one module per producing service: the only types services share.

Payloads carry ids, codes and amounts (integer cents), never demographics. A new schema version is
a new class (``...V2``) registered beside the old one, so old messages still parse.
"""
