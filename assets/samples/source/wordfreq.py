"""A small program with recognisable functions, profiled to make Emberscope's bundled samples.

It builds a text, tokenizes it, counts word frequencies, sorts them, and computes primes on the side, so every
profiler sees a handful of named functions with clearly different costs.
"""
import re
import sys
from collections import Counter

WORDS = ("ember", "scope", "flame", "graph", "python", "sample", "trace", "stack", "frame", "thread")


def build_corpus(lines):
    out = []
    for i in range(lines):
        out.append(" ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(12)))
    return "\n".join(out)


def tokenize(text):
    return re.findall(r"[a-z]+", text)


def count_words(tokens):
    counts = Counter()
    for token in tokens:
        counts[normalize(token)] += 1
    return counts


def normalize(word):
    return word.strip().lower()


def top_words(counts, n):
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def count_primes(limit):
    return sum(1 for n in range(limit) if is_prime(n))


def main(scale):
    text = build_corpus(int(2000 * scale))
    tokens = tokenize(text)
    counts = count_words(tokens)
    best = top_words(counts, 5)
    primes = count_primes(int(20000 * scale))
    print(best[0], primes)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1)
