"""Wire-format conversions between what clients send and what upstreams expect."""
