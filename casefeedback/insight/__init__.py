"""Insight: what people are telling us, de-identified, small numbers suppressed, shareable.

Everything here reads counts only: ``insight_counts`` (kept in step with the
de-identified contributions that survive retention, consent-gated on
``share_insight``), and counts of submissions and consent choices. No view or
function in this package opens a sealed field or reads a free-text answer.
"""
