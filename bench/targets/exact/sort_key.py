"""Sorting with a Python key function and a cmp_to_key comparator: one Python call per key and per comparison."""
import functools
import random

rng = random.Random(7)
words = ["".join(rng.choice("abcdefghij") for _ in range(8)) for _ in range(60_000)]

def key(w):
    return (len(w), w[::-1])

def compare(a, b):
    return (a > b) - (a < b)

by_key = sorted(words, key=key)
by_cmp = sorted(words[:25_000], key=functools.cmp_to_key(compare))
print(by_key[0], by_cmp[0])
