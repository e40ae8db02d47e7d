"""A second environment, written in Python for the tests: not the built-in world. A shop
with two signals of its own (``view``, ``buy``), 120 items, 24 candidates per step (the
world's default is 500), a session cap of 15 steps, its own reward weights (a view 0.2, a
purchase 1.0) and no popularity prior. Every slot draws from its own stream, seeded by the
session key at reset(), so a session depends only on the key and the items shown: policies
compared on the same keys meet the same users (common random numbers)."""
import numpy as np

import libreco

N_ITEMS, SLOTS, LOOKBACK, CANDIDATES, CAP = 120, 16, 6, 24, 15
SIGNALS, WEIGHTS = ("view", "buy"), (0.2, 1.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Shop(libreco.Env):
    """Item i is viewed with probability sigmoid(appeal[i]) and, once viewed, bought with
    probability value[i]; a user leaves after a step with probability 0.08, or 0.33 when
    they did not view the item. ``fail_after``: step() raises ValueError("budget
    exhausted") once that many steps were taken (``raised`` keeps the exception)."""

    def __init__(self, seed=5, fail_after=None):
        super().__init__(n_items=N_ITEMS, lookback=LOOKBACK, max_sessions=SLOTS,
                         signal_names=list(SIGNALS), reward_weights=list(WEIGHTS),
                         max_candidates=CANDIDATES, max_steps=CAP)
        g = np.random.default_rng(seed)
        self.appeal = g.normal(-0.5, 1.5, N_ITEMS)
        self.value = g.beta(1.5, 4.0, N_ITEMS)
        self.seed = seed
        self.fail_after, self.raised = fail_after, None
        self.steps_taken = 0
        self.rng = [np.random.default_rng(0)] * SLOTS
        self.t = np.zeros(SLOTS, np.int64)
        self.items = np.full((SLOTS, LOOKBACK), libreco.PAD, np.int32)
        self.fb = np.zeros((SLOTS, LOOKBACK), np.uint32)

    def expected_reward(self, items):
        view = sigmoid(self.appeal[items])
        return WEIGHTS[0] * view + WEIGHTS[1] * view * self.value[items]

    def reset(self, slots, users):
        for s, u in zip(slots, users):
            self.rng[s] = np.random.default_rng([self.seed, int(u)])
        self.t[slots] = 0
        self.items[slots], self.fb[slots] = libreco.PAD, 0

    def observe(self, slots):
        return self.items[slots], self.fb[slots]

    def candidates(self, slots, max_candidates):
        k = min(CANDIDATES, max_candidates)
        return [self.rng[s].choice(N_ITEMS, k, replace=False) for s in slots]

    def probabilities(self, slots, items):
        view = sigmoid(self.appeal[items])
        exit_ = np.where(self.t[slots] + 1 >= CAP, 1.0, 0.08 + 0.25 * (1 - view))
        return np.stack([view, view * self.value[items], exit_], axis=1)

    def step(self, slots, items):
        if self.fail_after is not None and self.steps_taken >= self.fail_after:
            self.raised = ValueError("budget exhausted")
            raise self.raised
        self.steps_taken += len(slots)
        u = np.array([self.rng[s].random(3) for s in slots])
        view = u[:, 0] < sigmoid(self.appeal[items])
        buy = view & (u[:, 1] < self.value[items])
        fb = view.astype(np.uint32) | (buy.astype(np.uint32) << 1)
        self.t[slots] += 1
        done = np.where(u[:, 2] < np.where(view, 0.08, 0.33), libreco.ENV_EXIT,
                        np.where(self.t[slots] >= CAP, libreco.ENV_TRUNCATED,
                                 libreco.ENV_CONTINUE))
        self.items[slots] = np.c_[self.items[slots, 1:], items]
        self.fb[slots] = np.c_[self.fb[slots, 1:], fb]
        return fb, None, done          # the reward: from the declared weights


class KnowsBest(libreco.Policy):
    """Shows the candidate of the largest expected immediate reward: it knows the shop."""

    def __init__(self, shop):
        super().__init__(name="knows-best")
        self.shop = shop

    def choose(self, states, candidates, counts):
        er = np.where(states["valid"], self.shop.expected_reward(candidates), -np.inf)
        return np.argmax(er, axis=1)
