"""Usage and cost: token counts read from answers, the prices that turn them into dollars, and estimates."""

from keyproxy.usage.estimates import cost_estimate, token_count
from keyproxy.usage.prices import SHIPPED, Price, PriceTable, parse_prices
from keyproxy.usage.tokens import UsageMeter, estimate, tokens_from_body, tokens_from_usage

__all__ = [
    "SHIPPED",
    "Price",
    "PriceTable",
    "UsageMeter",
    "cost_estimate",
    "estimate",
    "parse_prices",
    "token_count",
    "tokens_from_body",
    "tokens_from_usage",
]
