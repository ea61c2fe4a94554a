"""Data pipeline: parse, enrich and aggregate a stream of log lines

Batches of web-server log lines are parsed, enriched with each client's region, and summed per region. enrich
looks every client up in a list with a linear scan, and the flame graph shows it. Edit it to use REGION_BY_CLIENT
(a dict built once) and save: the pipeline keeps its running totals and gets faster. Malformed lines are reported
on stderr.
"""
import random
import re
import sys
import time

LINE = re.compile(r'^(?P<ip>\d+\.\d+\.\d+\.\d+) "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) (?P<ms>\d+)$')
PATHS = ["/", "/login", "/api/items", "/api/items/42", "/static/app.js", "/search?q=python", "/cart", "/checkout"]
REGIONS = ["eu-west", "eu-north", "us-east", "us-west", "ap-south", "ap-east", "sa-east"]

CLIENTS = [(f"10.{i // 250}.{i % 250}.{(i * 7) % 250}", REGIONS[i % len(REGIONS)]) for i in range(3000)]
REGION_BY_CLIENT = dict(CLIENTS)


def generate(rng, n):
    lines = []
    for _ in range(n):
        ip, _region = CLIENTS[rng.randrange(len(CLIENTS))]
        if rng.random() < 0.002:
            lines.append(f"{ip} garbled request")
            continue
        status = rng.choice((200, 200, 200, 200, 304, 404, 500))
        lines.append(f'{ip} "{rng.choice(("GET", "GET", "POST"))} {rng.choice(PATHS)}" {status} {rng.randint(1, 900)}')
    return lines


def parse(line):
    m = LINE.match(line)
    if not m:
        return None
    return {"ip": m["ip"], "method": m["method"], "path": m["path"], "status": int(m["status"]), "ms": int(m["ms"])}


def enrich(record):
    """Adds the client's region. A linear scan over every client: the hot spot."""
    for ip, region in CLIENTS:
        if ip == record["ip"]:
            record["region"] = region
            return record
    record["region"] = "unknown"
    return record


def aggregate(totals, record):
    t = totals.setdefault(record["region"], {"requests": 0, "errors": 0, "ms": 0})
    t["requests"] += 1
    t["errors"] += record["status"] >= 500
    t["ms"] += record["ms"]


def run_batch(rng, totals, skipped, size=2000):
    done = 0
    for line in generate(rng, size):
        record = parse(line)
        if record is None:
            skipped.append(line)
            continue
        aggregate(totals, enrich(record))
        done += 1
    return done


def report(totals, rate, skipped):
    busiest = sorted(totals.items(), key=lambda kv: -kv[1]["requests"])[:3]
    summary = "  ".join(f"{region} {t['requests']:>7d} req {t['ms'] / t['requests']:4.0f} ms avg" for region, t in busiest)
    print(f"{rate:8.0f} lines/s | {summary}", flush=True)
    if skipped:
        print(f"skipped {len(skipped)} malformed lines, e.g. {skipped[0]!r}", file=sys.stderr, flush=True)


def main():
    rng = random.Random(3)
    totals = {}
    skipped = []
    lines = 0
    window_start = time.perf_counter()
    while True:
        lines += run_batch(rng, totals, skipped)
        elapsed = time.perf_counter() - window_start
        if elapsed >= 1.0:
            report(totals, lines / elapsed, skipped)
            lines = 0
            skipped.clear()
            window_start = time.perf_counter()


if __name__ == "__main__":
    main()
