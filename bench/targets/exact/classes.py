"""A small class-heavy simulation: particles with properties, a base class and overrides, stepped in a world."""
class Vec:
    __slots__ = ("x", "y")
    def __init__(self, x, y):
        self.x, self.y = x, y
    def add(self, o):
        return Vec(self.x + o.x, self.y + o.y)
    def scale(self, k):
        return Vec(self.x * k, self.y * k)

class Body:
    def __init__(self, pos, vel):
        self.pos, self.vel = pos, vel
    @property
    def speed(self):
        return abs(self.vel.x) + abs(self.vel.y)
    def force(self):
        return Vec(0.0, -1.0)
    def step(self, dt):
        self.vel = self.vel.add(self.force().scale(dt))
        self.pos = self.pos.add(self.vel.scale(dt))

class Drag(Body):
    def force(self):
        f = super().force()
        return f.add(self.vel.scale(-0.1))

class World:
    def __init__(self, n):
        self.bodies = [(Drag if i % 2 else Body)(Vec(i, 0.0), Vec(1.0, 0.0)) for i in range(n)]
    def step(self, dt):
        for b in self.bodies:
            b.step(dt)
    def energy(self):
        return sum(b.speed for b in self.bodies)

w = World(500)
for _ in range(120):
    w.step(0.01)
print(round(w.energy(), 3))
