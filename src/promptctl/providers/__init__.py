"""One interface over every LLM provider: adapters, pricing, cache, retries, fallbacks."""
