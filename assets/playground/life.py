"""Game of life: a simulation loop with a slow neighbour count

A 160×100 torus evolves forever; count_neighbours wraps every coordinate with modulo for each of the eight
neighbours of each cell. Edit it (for instance, precompute the wrapped rows and columns once per step, or use
step_fast below from step) and save: the same board keeps evolving from where it was, only faster.
"""
import random
import time

W = 160
H = 100


def seed_board(density=0.3, seed=11):
    rng = random.Random(seed)
    return [[1 if rng.random() < density else 0 for _ in range(W)] for _ in range(H)]


def count_neighbours(board, y, x):
    total = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                total += board[(y + dy) % H][(x + dx) % W]
    return total


def step(board):
    new = [[0] * W for _ in range(H)]
    for y in range(H):
        for x in range(W):
            n = count_neighbours(board, y, x)
            new[y][x] = 1 if n == 3 or (n == 2 and board[y][x]) else 0
    return new


def step_fast(board):
    """Row sums over wrapped neighbour rows: no modulo in the inner loop."""
    new = []
    for y in range(H):
        up, row, down = board[y - 1], board[y], board[(y + 1) % H]
        col = [up[x] + row[x] + down[x] for x in range(W)]
        out = []
        for x in range(W):
            n = col[x - 1] + col[x] + col[(x + 1) % W] - row[x]
            out.append(1 if n == 3 or (n == 2 and row[x]) else 0)
        new.append(out)
    return new


def population(board):
    return sum(map(sum, board))


def reseed_if_dead(board, generation):
    if population(board) < W * H // 50:
        print(f"generation {generation}: the board is nearly empty, reseeding", flush=True)
        return seed_board(seed=generation)
    return board


def main():
    board = seed_board()
    generation = 0
    steps = 0
    window_start = time.perf_counter()
    while True:
        board = step(board)
        generation += 1
        steps += 1
        elapsed = time.perf_counter() - window_start
        if elapsed >= 1.0:
            print(f"generation {generation:6d}  population {population(board):5d}  {1000 * elapsed / steps:7.2f} ms/step", flush=True)
            board = reseed_if_dead(board, generation)
            window_start = time.perf_counter()
            steps = 0


if __name__ == "__main__":
    main()
