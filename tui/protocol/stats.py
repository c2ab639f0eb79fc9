"""Cost and token totals from `stats.usage_to_metrics` (per-field update, full_state or REST)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


@dataclass(frozen=True, slots=True)
class UsageTotals:
    cost: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0
    context_window: int = 0
    per_turn_tokens: int = 0  # prompt+completion of the latest call: roughly the context in use

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_stats(cls, stats: Any) -> UsageTotals:
        """Sum every usage id in a `ConversationStats` dump; tolerate any missing or malformed part."""
        if not isinstance(stats, dict):
            return cls()
        per_usage = stats.get("usage_to_metrics")
        if not isinstance(per_usage, dict):
            return cls()
        cost = 0.0
        prompt = completion = cache = reasoning = window = per_turn = 0
        for metrics in per_usage.values():
            if not isinstance(metrics, dict):
                continue
            cost += _num(metrics.get("accumulated_cost"))
            usage = metrics.get("accumulated_token_usage")
            if isinstance(usage, dict):
                prompt += int(_num(usage.get("prompt_tokens")))
                completion += int(_num(usage.get("completion_tokens")))
                cache += int(_num(usage.get("cache_read_tokens")))
                reasoning += int(_num(usage.get("reasoning_tokens")))
                window = max(window, int(_num(usage.get("context_window"))))
                per_turn = max(per_turn, int(_num(usage.get("per_turn_token"))))
        return cls(cost, prompt, completion, cache, reasoning, window, per_turn)
