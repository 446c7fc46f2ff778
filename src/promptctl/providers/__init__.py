"""One interface over every LLM provider: adapters, pricing, cache, retries, fallbacks.

Entry points (import them from their modules; this package imports nothing on its own,
so `import promptctl.providers.pricing` does not pull in the HTTP client):

- `gateway.Gateway`: the one call path (cache/replay -> limits -> retry -> breaker ->
  fallback); `complete()` async, `complete_sync()` for the runtime.
- `promptctl.plan` builds the `ChatRequest` (routing, rendering, fallbacks) handed in here.
- `pricing.price_for`, `pricing.cost_usd`: prices with their source and date.
- `cache.ResponseCache`, `recordings.RecordingStore`: the stores behind the modes.
- `base.load_adapter(kind)`: the pure wire mappings, one module per format.
"""
