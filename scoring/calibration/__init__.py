"""Calibration: several reviewers score the same call; how far do they agree, and who scores high or low?

Decisions (shown on the page and in the API's description too):
- Ratings: submitted reviews *and* calibration evaluations, each in its original revision. A regular
  review is a reviewer's independent score of the same agent on the same call, so a call reviewed once
  and calibrated by two colleagues has three ratings. Self-reviews are not ratings (the agent judging
  themselves; the reviewer-vs-self page shows that gap), and a revision made when resolving a dispute
  is not an independent judgement (it was made after reading the agent's objection).
- Unit: one agent on one call (nearly always the call). One rating per reviewer and unit: their
  calibration if they made one, else their latest review.
- Period: ratings submitted in it (local dates, both ends included), like every QA list.
- Overall agreement: Krippendorff's alpha, interval level, on the evaluation score (0–100, whole points),
  reviewers as coders, missing ratings allowed. Per criterion: alpha on earned / possible, N/A missing.
  Undefined (no pairable values, or no variation at all) is said in words, never shown as a number.
- Bias: a reviewer's mean of (their score − the mean of the *other* reviewers' scores on that call),
  with a 95% Student-t interval over their calls.
- Who sees what: admins all; supervisors the calls of their teams' agents; reviewers only calls they
  rated themselves (so calibration stays blind until one's own score is in); agents nothing (403).

`selectors.calibration_report(user, ...)` builds the whole report; `agreement` holds the pure math.
"""
