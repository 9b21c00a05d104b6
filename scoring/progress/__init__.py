"""QA progress: the programme's workload and coverage in a period (reviewers' queues, agents' reviews against
the weekly sample's target)."""
