"""Usage and cost: token counts read from answers, the prices that turn them into dollars, and estimates."""

from keyproxy.usage.estimates import cost_estimate, token_count
from keyproxy.usage.prices import SHIPPED, PriceTable
from keyproxy.usage.tokens import UsageMeter, estimate, tokens_from_body, tokens_from_usage

__all__ = [
    "SHIPPED",
    "PriceTable",
    "UsageMeter",
    "cost_estimate",
    "estimate",
    "token_count",
    "tokens_from_body",
    "tokens_from_usage",
]
