"""The call plan: prompt + inputs -> validated, routed, rendered request + fallback chain.

Below both front doors (the runtime and the evaluations) and above `render`: what
`promptctl test` sends is what an application sends because both ask this package.
Import from its modules (`plan.call`, `plan.request`, `plan.routing`); this package
imports nothing on its own.
"""
