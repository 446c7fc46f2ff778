"""evals layer (see DESIGN.md): the provider-independent building blocks of `promptctl test`.

- `cases`: `Case`, `expand_cases(...)` (`CaseExpansion`: the same, one case at a time),
  `shard(cases, i, n)`, `parse_shard("i/n")`; `options`: `EvalOptions`, `stream_cases`.
- `assertions`: the registry of assertion types, `AssertionContext`, `AssertionResult`,
  `evaluate_test(asserts, ctx, judge=...) -> TestOutcome` (async, for llm-rubric).
- `judge`: the `Judge` protocol, `PromptJudge(complete)` over the shipped `rubric.yaml`.
- `scoring`: `score_case(case, response, ...)`, `error_result`, `skipped_result`, `exit_code`.
- `budget`: `estimate_cost`, `estimate_request_cost`, `Budget` for `--max-cost`.
- `results`: the `promptctl/results@1` document: `CaseResult`, `RunInfo`, `to_document`,
  `write_results` (atomic), `read_results`, `summary_rows`; `aggregate`: `summarize`,
  `SummaryBuilder`; `results_stream`: the document written case by case (valid JSON at
  every moment); `result_log`: a run's results in case order, tallied, not held;
  `case_facts`: what the terminal summary reads from the cases;
  `stats`: `wilson_interval`, nearest-rank `percentile`, the gate's tests.
- `baseline`: `evaluate_side` (the working tree or a git ref), `default_base_ref`, `Side`;
  `compare`: the rules (`compare(base_doc, head_doc, gate) -> Comparison`); `gate`: resolving
  the sides, `compare_sides`, `exit_code_for`; `prompt_diff`: what changed in the prompts.

Renderers (terminal, markdown, JSON, JUnit) live in `promptctl.report`; evals imports none.

Submodules are imported explicitly (nothing is re-exported here) so that importing one
piece does not import the rest.
"""
