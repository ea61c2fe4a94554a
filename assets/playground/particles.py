"""Particle simulation: make the hot function fast while it runs

Nine hundred particles bounce in a box. Every frame, find_collisions compares every pair (O(n²)) and the flame graph
shows it eating the frame. Edit it to use the grid (replace its body with `return find_collisions_grid(particles)`),
press Ctrl+S: the particles keep flying, frames get several times faster, and the diff shows find_collisions in blue.
"""
import math
import random
import time

WIDTH = 300.0
HEIGHT = 300.0
RADIUS = 1.5
COUNT = 900


class Particle:
    def __init__(self, x, y, vx, vy):
        self.x = x
        self.y = y
        self.vx = vx
        self.vy = vy

    def move(self, dt):
        self.x += self.vx * dt
        self.y += self.vy * dt
        if not 0.0 <= self.x <= WIDTH:
            self.vx = -self.vx
            self.x = min(max(self.x, 0.0), WIDTH)
        if not 0.0 <= self.y <= HEIGHT:
            self.vy = -self.vy
            self.y = min(max(self.y, 0.0), HEIGHT)


def make_particles(count, seed=7):
    rng = random.Random(seed)
    return [
        Particle(rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(-20, 20), rng.uniform(-20, 20))
        for _ in range(count)
    ]


def find_collisions(particles):
    """Pairs of particles closer than two radii. All pairs: the hot spot."""
    limit = (2 * RADIUS) ** 2
    pairs = []
    n = len(particles)
    for i in range(n):
        a = particles[i]
        for j in range(i + 1, n):
            b = particles[j]
            dx = a.x - b.x
            dy = a.y - b.y
            if dx * dx + dy * dy < limit:
                pairs.append((a, b))
    return pairs


def find_collisions_grid(particles):
    """The same pairs from a uniform grid: only neighbouring cells are compared."""
    cell = 2 * RADIUS
    limit = cell * cell
    grid = {}
    for p in particles:
        grid.setdefault((int(p.x // cell), int(p.y // cell)), []).append(p)
    pairs = []
    for (cx, cy), members in grid.items():
        for ox, oy in ((0, 0), (1, 0), (0, 1), (1, 1), (1, -1)):
            other = grid.get((cx + ox, cy + oy))
            if not other:
                continue
            for i, a in enumerate(members):
                for b in (members[i + 1:] if other is members else other):
                    dx = a.x - b.x
                    dy = a.y - b.y
                    if dx * dx + dy * dy < limit:
                        pairs.append((a, b))
    return pairs


def bounce(pairs):
    for a, b in pairs:
        a.vx, b.vx = b.vx, a.vx
        a.vy, b.vy = b.vy, a.vy


def kinetic_energy(particles):
    return sum(0.5 * (p.vx * p.vx + p.vy * p.vy) for p in particles)


def step(particles, dt):
    for p in particles:
        p.move(dt)
    pairs = find_collisions(particles)
    bounce(pairs)
    return len(pairs)


def main():
    particles = make_particles(COUNT)
    frame = 0
    frames = hits = 0
    window_start = time.perf_counter()
    while True:
        hits += step(particles, 1 / 60)
        frame += 1
        frames += 1
        elapsed = time.perf_counter() - window_start
        if elapsed >= 1.0:
            heading = math.degrees(math.atan2(particles[0].vy, particles[0].vx))
            print(f"frame {frame:6d} {1000 * elapsed / frames:6.2f} ms/frame  {hits / frames:4.0f} hits/frame  "
                  f"energy {kinetic_energy(particles):8.0f}  p0 {heading:4.0f}°", flush=True)
            window_start = time.perf_counter()
            frames = hits = 0


if __name__ == "__main__":
    main()
