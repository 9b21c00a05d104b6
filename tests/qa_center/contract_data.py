"""A small world for the API contract test: an admin with an API token, calls (one with a transfer and
escalations, one anonymous and unanswered), a draft and a submitted evaluation, assignments (open and done), a
notice, queued and finished imports, a survey response. Every nullable field the API returns is null in one row
and set in another, so both shapes meet the schema."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from rest_framework.authtoken.models import Token

from calls import rollups
from calls import services as call_services
from scoring import services as scoring_services
from scoring.models import Assignment, Notice, Scorecard
from scoring.surveys import services as survey_services
from scoring.surveys.models import SurveyResponse
from tests.factories import (
    AgentFactory,
    CallFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
    UserFactory,
)
from tests.scoring.factories import AssignmentFactory, simple_scorecard, submitted_evaluation

CALL_RECORD = (
    b'{"external_id": "IMP-1", "channel": "phone", "started_at": "2026-11-02T10:00:00Z", '
    b'"ended_at": "2026-11-02T10:05:00Z"}\n'
)


@dataclass
class ContractData:
    admin: object
    token: str
    ids: dict[str, list[int]] = field(default_factory=dict)
    call_external_ids: list[str] = field(default_factory=list)

    def point_at_real_rows(self, case) -> None:
        """Two generated ids in three name a seeded row (its fields then go through the response checks);
        the third is left as generated, usually an id that does not exist (the 404 must be documented)."""
        for prefix, ids in self.ids.items():
            if case.path.startswith(prefix) and case.path_parameters and "id" in case.path_parameters:
                generated = case.path_parameters["id"]
                if isinstance(generated, int) and generated % 3:
                    case.path_parameters["id"] = ids[generated % len(ids)]
        if case.path == "/api/calls/import" and case.query and case.query.get("async") is True:
            generated = case.query.pop("async")  # two in three run the import itself, not only queue it
            if len(str(case.body)) % 3 == 0:
                case.query["async"] = generated
        body = case.body
        if case.path == "/api/surveys/responses" and isinstance(body, dict):
            external_id = body.get("call_external_id")
            if isinstance(external_id, str) and len(external_id) % 2 == 0:
                body["call_external_id"] = self.call_external_ids[len(external_id) % 4 // 2]


def seed_contract_data() -> ContractData:
    admin = UserFactory(username="contract-admin", roles=["admin"], is_staff=True, is_superuser=True)
    token = Token.objects.create(user=admin)
    reviewer = UserFactory(username="contract-reviewer", roles=["reviewer"])
    team = TeamFactory(name="Contract Team")
    agent = AgentFactory(employee_code="A-CONTRACT", name="Cora Tract", team=team)
    loner = AgentFactory(employee_code="A-LONER", name="Lone Agent", team=None)
    scorecard = simple_scorecard(family="contract")
    calls = [
        CallFactory(external_id="CT-1", agent=agent),
        CallFactory(external_id="CT-2", agent=agent, is_resolved=False, disposition="callback"),
        CallFactory(external_id="CT-3", agent=loner),
    ]
    # For the calls API: a call with a transfer, a resolved and an open escalation and a recording, and an
    # anonymous call nobody answered, without agent or department (its nullable fields null).
    transferred = CallFactory(
        external_id="CT-4", agent=agent, recording_url="https://recordings.example.com/ct-4.mp3"
    )
    TransferFactory(call=transferred, sequence=1, from_agent=agent, to_agent=loner, to_department=None)
    EscalationFactory(call=transferred, sequence=1, outcome="refunded", resolved_at=transferred.ended_at)
    EscalationFactory(call=transferred, sequence=2, level="complaint")
    abandoned = CallFactory(
        external_id="CT-5", agent=None, customer=None, department=None, answered_at=None, is_resolved=False
    )
    submitted = submitted_evaluation(
        call=calls[0], author=admin, scorecard=scorecard, values={"a": 1, "b": "na", "crit": 1, "res": 1}
    )
    AssignmentFactory(call=calls[0], reviewer=reviewer)
    second = submitted_evaluation(
        call=calls[0], author=reviewer, scorecard=scorecard, values={"a": 0, "b": 2, "crit": 1, "res": 0}
    )
    draft = scoring_services.evaluation_start(
        call=calls[1], author=admin, agent=None, kind="review", scorecard=scorecard
    )
    open_assignment = AssignmentFactory(call=calls[1], reviewer=admin)
    done_assignment = AssignmentFactory(
        call=calls[2], reviewer=admin, status=Assignment.Status.DONE, completed_at=timezone.now()
    )
    notice = Notice.objects.create(
        recipient=admin,
        kind=Notice.Kind.REVIEW_SUBMITTED,
        evaluation=second,
        event_key=f"evaluation:{second.pk}",
    )
    queued = call_services.call_import_create(
        user=admin, uploads=[call_services.Upload(name="calls.jsonl", data=CALL_RECORD)], partial=False
    )
    finished = call_services.call_import_create(
        user=admin, uploads=[call_services.Upload(name="calls.jsonl", data=b"{}\n")], partial=True
    )
    call_services.call_import_run(finished.pk)  # as the worker would: done, one row rejected
    survey_services.response_record(
        call=calls[2], score=3, source=SurveyResponse.Source.INBOUND_API, idempotency_key="id:contract-1"
    )
    # The leaderboard reads the day rollups a worker would have rebuilt after these commits.
    rollups.agent_day_stats_refresh(
        date_from=rollups.local_day(calls[0].started_at), date_to=timezone.localdate()
    )
    return ContractData(
        admin=admin,
        token=token.key,
        ids={
            "/api/scorecards/": list(Scorecard.objects.values_list("pk", flat=True)),
            "/api/evaluations/": [submitted.pk, second.pk, draft.pk],
            "/api/assignments/": [open_assignment.pk, done_assignment.pk],
            "/api/notices/": [notice.pk],
            "/api/calls/imports/": [queued.pk, finished.pk],
            # Not a prefix of /api/calls/imports/{id}: each path's ids apart.
            "/api/calls/{id}": [calls[0].pk, transferred.pk, abandoned.pk],
        },
        call_external_ids=["CT-1", "CT-2"],
    )
