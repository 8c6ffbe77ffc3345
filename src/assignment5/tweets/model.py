"""The assignment's tweet classifier: one-hot ASCII (128) -> LSTM(128) -> Linear(2) -> log-softmax."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from assignment5.training import held_out
from assignment5.tweets import fused_lstm
from assignment5.tweets.data import VOCAB, with_placeholders

KERNELS = ("auto", "fused", "pytorch")


class TweetLSTM(nn.Module):
    """kernel: "fused" runs the recurrence in fused_lstm's multi-threaded CPU kernel, "pytorch" in
    nn.LSTM (oneDNN on CPU, cuDNN on GPU), "auto" on a CPU the one training measured faster on
    this machine (tweets.train.choose_kernel), else the fused one where it builds. Both
    compute the same function of the same parameters (an nn.LSTM's). Under bf16 autocast both
    multiply in bf16 with fp32 sums."""

    def __init__(self, hidden: int, classes: int = 2, kernel: str = "auto", dropout: float = 0.0,
                 placeholders: bool = False):
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, not {kernel!r}")
        self.lstm = nn.LSTM(VOCAB, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)
        self.drop = nn.Dropout(dropout)  # no parameters: saved models load without it
        self.kernel = kernel
        # saved with the weights: a model trained on placeholder text is scored on placeholder text
        self.register_buffer("placeholders", torch.tensor(placeholders))

    @classmethod
    def from_state_dict(cls, state: dict, kernel: str = "auto") -> "TweetLSTM":
        """A model shaped like the saved one (its hidden size is read from the weights)."""
        model = cls(hidden=state["lstm.weight_hh_l0"].shape[1], classes=state["out.weight"].shape[0],
                    kernel=kernel)
        model.load_state_dict({"placeholders": torch.tensor(False)} | dict(state))  # older models: raw text
        return model

    def kernel_in_use(self, precision: str, device: torch.device = torch.device("cpu")) -> str:
        """"fused" or "pytorch": what forward runs for this precision on this device."""
        return resolve_kernel(self.kernel, precision, device, self.lstm.hidden_size)

    def forward(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """codes (B, T) int, right-padded; lengths (B,). Returns log-probabilities (B, 2).

        Padding sits after each tweet's last character, so the LSTM's output at step
        length-1 never sees it: reading there is exact, without packed sequences.
        """
        precision = "bf16" if autocast_dtype(codes.device) == torch.bfloat16 else "fp32"
        if self.kernel_in_use(precision, codes.device) == "fused":
            last = fused_lstm.last_hidden_state(self.lstm, codes, lengths, precision)
        else:
            states, _ = self.lstm(F.one_hot(codes.long(), VOCAB).float())
            last = states[torch.arange(len(codes), device=states.device), lengths.to(states.device) - 1]
        return F.log_softmax(self.out(self.drop(last)), dim=-1)


def resolve_kernel(kernel: str, precision: str, device: torch.device, hidden: int) -> str:
    """What the kernel setting runs: nn.LSTM off the CPU or where the C++ kernel cannot run at
    this precision; for "auto" on a CPU, the winner of training's measurement when cached."""
    if kernel == "pytorch" or device.type != "cpu":
        return "pytorch"
    if not fused_lstm.usable(precision, hidden):
        if kernel == "fused":
            raise RuntimeError(f"kernel 'fused' was asked for, but the C++ kernel could not be built, "
                               f"has no {precision} support on this CPU or no support for hidden size "
                               f"{hidden} (it needs a multiple of 16 on AVX-512)")
        return "pytorch"
    if kernel == "auto":
        measured = fused_lstm.cached_choice(fused_lstm.choice_key(precision, torch.get_num_threads(), hidden))
        return measured["kernel"] if measured else "fused"
    return "fused"


def autocast_dtype(device: torch.device):
    """The dtype autocast is active with on this device, or None."""
    if not torch.is_autocast_enabled(device.type):
        return None
    return torch.get_autocast_dtype(device.type)


class LSTMCellLoop(nn.Module):
    """The same model as a plain per-time-step nn.LSTMCell loop (the benchmark's baseline)."""

    def __init__(self, hidden: int, classes: int = 2):
        super().__init__()
        self.cell = nn.LSTMCell(VOCAB, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(codes.long(), VOCAB).float()
        h = x.new_zeros(len(codes), self.cell.hidden_size)
        c = torch.zeros_like(h)
        last = torch.zeros_like(h)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
            last = torch.where((lengths - 1 == t).unsqueeze(1), h, last)
        return F.log_softmax(self.out(last), dim=-1)


class Tweets:
    """Ragged ASCII codes of one split, batched with right padding."""

    def __init__(self, codes: np.ndarray, offsets: np.ndarray, labels: np.ndarray):
        self.codes = torch.from_numpy(codes.astype(np.uint8))
        self.offsets = offsets
        self.lengths = torch.from_numpy(np.diff(offsets))
        self.labels = torch.from_numpy(labels)

    @classmethod
    def from_npz(cls, npz, split: str) -> "Tweets":
        return cls(npz[f"{split}_codes"], npz[f"{split}_offsets"], npz[f"{split}_labels"])

    @classmethod
    def from_texts(cls, texts: list[str], labels=None) -> "Tweets":
        from assignment5.tweets.data import pack

        codes, offsets = pack(texts)
        return cls(codes, offsets, np.asarray(labels if labels is not None else [0] * len(texts)))

    def __len__(self) -> int:
        return len(self.labels)

    def texts(self) -> list[str]:
        return [bytes(self.codes[a:b].numpy()).decode("ascii") for a, b in zip(self.offsets, self.offsets[1:])]

    def with_placeholders(self) -> "Tweets":
        """The same tweets with every URL and user name replaced by its placeholder."""
        return Tweets.from_texts([with_placeholders(t) for t in self.texts()], self.labels.numpy())

    def subset(self, index) -> "Tweets":
        """The tweets at index (in that order), as a Tweets of their own."""
        index = np.asarray(index)
        lengths = self.lengths.numpy()[index]
        codes = self.codes.numpy()
        packed = np.concatenate([codes[self.offsets[i]: self.offsets[i + 1]] for i in index]) \
            if len(index) else codes[:0]
        return Tweets(packed, np.concatenate([[0], np.cumsum(lengths)]), self.labels.numpy()[index])

    def hold_out(self, fraction: float, seed: int) -> tuple["Tweets", "Tweets"]:
        """(fit, validation) tweets for the tuned variant (training.held_out)."""
        fit, held = held_out(len(self), fraction, seed)
        return self.subset(fit), self.subset(held)

    def batch(self, index, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(codes, lengths, labels) of the tweets at index, right-padded; on device if given."""
        if device is not None and device.type != "cpu":
            return tuple(t.to(device, non_blocking=True) for t in self.batch(index))
        index = np.asarray(index)
        lengths = self.lengths[index]
        out = torch.zeros(len(index), int(lengths.max()), dtype=torch.uint8)
        for row, i in enumerate(index):
            out[row, : lengths[row]] = self.codes[self.offsets[i]: self.offsets[i + 1]]
        return out, lengths, self.labels[index]

    def bucketed_batches(self, batch_size: int, rng: np.random.Generator, pool: int):
        """Shuffle, sort each pool of batch_size*pool tweets by length, cut into batches,
        shuffle the batches: random batches of 32 with little padding."""
        order = rng.permutation(len(self))
        lengths = self.lengths.numpy()
        batches = []
        for start in range(0, len(order), batch_size * pool):
            chunk = order[start: start + batch_size * pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches += [chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        return batches

    def sorted_batches(self, batch_size: int, subset=None):
        """Evaluation order: by length, large batches (no shuffling needed)."""
        index = np.arange(len(self)) if subset is None else np.asarray(subset)
        index = index[np.argsort(self.lengths.numpy()[index], kind="stable")]
        return [index[i: i + batch_size] for i in range(0, len(index), batch_size)]
