import io
import statistics
from datetime import timedelta

import pytest
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from calls.demo import agent_profile, demo_agents, generate_calls
from calls.importers import import_records
from calls.management.commands.seed_demo import demo_organisation_ensure
from calls.models import Call, Transfer
from scoring.followups.models import FollowUpCase
from scoring.surveys.demo import seed_surveys
from scoring.surveys.models import (
    CustomerOptOut,
    ResponseCredit,
    SurveyDelivery,
    SurveyInvitation,
    SurveyResponse,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_calls(settings):
    settings.SURVEY_SAMPLE_RATE = 1.0  # every eligible call invited: enough answers to see the correlations
    settings.SURVEY_FATIGUE_DAYS = 7
    demo_organisation_ensure(profiles=demo_agents(20))
    result = import_records(generate_calls(calls=1500, agents=20, days=45, seed=7, end=timezone.now()))
    assert result.ok


def test_seed_surveys_decides_every_ended_call_once_and_reports_true_counts(demo_calls, settings):
    out = io.StringIO()
    result = seed_surveys(seed=42, stdout=out)
    now = timezone.now()
    due = Call.objects.filter(ended_at__lte=now - timedelta(seconds=settings.SURVEY_DELAY_SECONDS))
    assert result["calls"] == due.count() == SurveyInvitation.objects.count()
    assert not due.filter(survey_invitation__isnull=True).exists()
    by_reason = dict(
        SurveyInvitation.objects.filter(status="skipped").values_list("skip_reason").annotate(n=Count("pk"))
    )
    assert result["skipped"] == by_reason
    assert {"anonymous", "abandoned", "no_contact", "fatigue"} <= set(by_reason)
    assert result["invited"] == SurveyInvitation.objects.exclude(status="skipped").count()
    assert result["failed"] == SurveyInvitation.objects.filter(status="failed").count() > 0
    assert result["sent"] == SurveyDelivery.objects.filter(status="sent").count()
    expired = SurveyInvitation.objects.filter(status="sent", used_at__isnull=True, expires_at__lte=now)
    assert result["expired"] == expired.count() > 0
    assert result["responses"] == SurveyResponse.objects.count() > 150
    assert result["detractors"] == SurveyResponse.objects.filter(category="detractor").count() > 0
    assert result["promoters"] == SurveyResponse.objects.filter(category="promoter").count() > 0
    assert result["opt_outs"] == CustomerOptOut.objects.count()
    assert f"{result['responses']} responses" in out.getvalue()

    # Answers fall within each link's lifetime and mark it used.
    for invitation in SurveyInvitation.objects.filter(response__isnull=False).select_related("response"):
        assert invitation.used_at == invitation.response.received_at
        assert invitation.sent_at < invitation.used_at < invitation.expires_at
    # Nobody is invited after opting out.
    for opt_out in CustomerOptOut.objects.all():
        later = SurveyInvitation.objects.filter(customer=opt_out.customer, created_at__gt=opt_out.created_at)
        assert not later.exclude(status="skipped").exists()

    # A second run finds nothing left to decide and changes nothing.
    counts = (SurveyInvitation.objects.count(), SurveyResponse.objects.count(), FollowUpCase.objects.count())
    again = seed_surveys(seed=42)
    assert again["calls"] == 0 and again["responses"] == 0
    assert (
        SurveyInvitation.objects.count(),
        SurveyResponse.objects.count(),
        FollowUpCase.objects.count(),
    ) == counts


def test_every_detractor_gets_a_follow_up_and_every_leg_is_credited(demo_calls):
    seed_surveys(seed=42)
    detractors = SurveyResponse.objects.filter(category="detractor")
    assert FollowUpCase.objects.count() == detractors.count()
    assert not detractors.exclude(Exists(FollowUpCase.objects.filter(response=OuterRef("pk")))).exists()
    # Only answered calls are surveyed and every answered demo call has an agent: never an orphan.
    assert not SurveyResponse.objects.exclude(
        Exists(ResponseCredit.objects.filter(response=OuterRef("pk"), is_primary=True))
    ).exists()
    transferred = SurveyResponse.objects.filter(
        Exists(Transfer.objects.filter(call=OuterRef("call")))
    ).select_related("call")
    assert transferred.count() > 10
    for response in transferred.prefetch_related("credits"):
        transfers = list(Transfer.objects.filter(call=response.call_id).order_by("sequence"))
        credited = {c.agent_id: (c.leg, c.is_primary) for c in response.credits.all()}
        assert set(credited) == {response.call.agent_id} | {t.to_agent_id for t in transfers}
        assert credited[transfers[-1].to_agent_id] == (transfers[-1].sequence, True)


def test_scores_follow_call_outcomes_and_agent_profiles(demo_calls):
    seed_surveys(seed=42)
    responses = list(
        SurveyResponse.objects.annotate(
            transferred=Exists(Transfer.objects.filter(call=OuterRef("call")))
        ).select_related("call")
    )
    smooth = [r.score for r in responses if r.call.is_resolved and not r.transferred]
    rough = [r.score for r in responses if not r.call.is_resolved or r.transferred]
    assert len(smooth) > 50 and len(rough) > 50
    assert statistics.mean(smooth) - statistics.mean(rough) > 2.0

    by_quality = sorted(
        (
            agent_profile(c.agent.employee_code).resolution + agent_profile(c.agent.employee_code).empathy,
            c.response.score,
        )
        for c in ResponseCredit.objects.filter(is_primary=True, response__call__is_resolved=True)
        .filter(~Exists(Transfer.objects.filter(call=OuterRef("response__call"))))
        .select_related("agent", "response")
    )
    third = len(by_quality) // 3
    weakest = statistics.mean(score for _quality, score in by_quality[:third])
    strongest = statistics.mean(score for _quality, score in by_quality[-third:])
    assert strongest - weakest > 0.8


def test_companion_answers_are_optional_on_the_scale_and_follow_the_nps_answer(demo_calls):
    seed_surveys(seed=42)
    responses = list(SurveyResponse.objects.values_list("score", "csat", "ces"))
    answered_csat = [(score, csat) for score, csat, _ces in responses if csat is not None]
    answered_ces = [(score, ces) for score, _csat, ces in responses if ces is not None]
    # Some respondents skip each optional question (rates 0.75 and 0.6 in the demo).
    assert 0.6 < len(answered_csat) / len(responses) < 0.9
    assert 0.45 < len(answered_ces) / len(responses) < 0.75
    assert {csat for _score, csat in answered_csat} <= set(range(1, 6))
    assert {ces for _score, ces in answered_ces} <= set(range(1, 8))
    promoters = [csat for score, csat in answered_csat if score >= 9]
    detractors = [csat for score, csat in answered_csat if score <= 6]
    assert statistics.mean(promoters) - statistics.mean(detractors) > 1.5


def test_seed_surveys_command_prints_the_summary(demo_calls):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("seed_surveys", "--seed", "3", stdout=out)
    assert f"{SurveyResponse.objects.count()} responses" in out.getvalue()
    assert SurveyResponse.objects.count() > 0
