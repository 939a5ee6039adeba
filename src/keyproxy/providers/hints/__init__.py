"""What upstreams say about waiting: Retry-After, rate-limit headers and Google RPC error details."""
