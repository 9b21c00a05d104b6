from django.urls import path

from .views import (
    calibration,
    coaching,
    disputes,
    evaluation_export,
    evaluations,
    notices,
    progress,
    queue,
    scorecards,
    shoutouts,
    workspace,
)

app_name = "scoring"
urlpatterns = [
    # Reviewer queue and manual assignment
    path("queue/", queue.queue, name="queue"),
    path("assign/", queue.assign, name="assign"),
    path("assignments/<int:pk>/cancel/", queue.assignment_cancel, name="assignment_cancel"),
    # QA progress (supervisors, admins): reviewers' workload and agents' coverage against the weekly sample
    path("progress/", progress.progress, name="progress"),
    path("progress/agents.csv", progress.progress_export, name="progress_csv"),
    # Workspace (review and self-review) with its htmx autosave endpoints
    path("calls/<int:call_id>/review/", workspace.workspace, name="workspace"),
    path("calls/<int:call_id>/review/answer/", workspace.workspace_answer, name="workspace_answer"),
    path("calls/<int:call_id>/review/summary/", workspace.workspace_summary, name="workspace_summary"),
    path("calls/<int:call_id>/self-review/", workspace.self_review, name="self_review"),
    path("calls/<int:call_id>/self-review/answer/", workspace.self_review_answer, name="self_review_answer"),
    path(
        "calls/<int:call_id>/self-review/summary/", workspace.self_review_summary, name="self_review_summary"
    ),
    path("calls/<int:call_id>/compare/", evaluations.compare, name="compare"),
    # Evaluations
    path("evaluations/<int:pk>/", evaluations.evaluation_detail, name="evaluation_detail"),
    path(
        "evaluations/<int:pk>/acknowledge/", evaluations.evaluation_acknowledge, name="evaluation_acknowledge"
    ),
    path("evaluations/<int:pk>/dispute/", evaluations.dispute_open, name="dispute_open"),
    path("me/", evaluations.my_qa, name="me"),
    # Raw-data export: one CSV row per answer of the submitted evaluations the user may read
    path("evaluations.csv", evaluation_export.evaluation_export, name="evaluation_export"),
    # Calibration: agreement between reviewers on the same calls, and each reviewer's bias
    path("calibration/", calibration.calibration, name="calibration"),
    # Disputes
    path("disputes/", disputes.dispute_list, name="dispute_list"),
    path("disputes/<int:pk>/", disputes.dispute_detail, name="dispute_detail"),
    # Coaching sessions: recorded from the agent's analytics page, acknowledged by the agent
    path("coaching/", coaching.coaching_overview, name="coaching_overview"),
    path("agents/<int:agent_id>/coaching/new/", coaching.coaching_create, name="coaching_create"),
    path("agents/<int:agent_id>/shout-outs/new/", shoutouts.shout_out_create, name="shout_out_create"),
    path("coaching/<int:pk>/", coaching.coaching_detail, name="coaching_detail"),
    path("coaching/<int:pk>/acknowledge/", coaching.coaching_acknowledge, name="coaching_acknowledge"),
    # The user's own notices (review received, dispute opened / decided)
    path("notices/", notices.notice_list, name="notices"),
    path("notices/read-all/", notices.notice_read_all, name="notice_read_all"),
    path("notices/<int:pk>/read/", notices.notice_read, name="notice_read"),
    # Scorecard builder
    path("scorecards/", scorecards.scorecard_list, name="scorecard_list"),
    path("scorecards/new/", scorecards.scorecard_create, name="scorecard_create"),
    path("scorecards/<int:pk>/", scorecards.scorecard_detail, name="scorecard_detail"),
    path("scorecards/<int:pk>/edit/", scorecards.scorecard_edit, name="scorecard_edit"),
    path("scorecards/<int:pk>/publish/", scorecards.scorecard_publish, name="scorecard_publish"),
    path("scorecards/<int:pk>/new-version/", scorecards.scorecard_new_version, name="scorecard_new_version"),
    path("scorecards/<int:pk>/sections/add/", scorecards.section_add, name="section_add"),
    path("scorecards/<int:pk>/sections/<int:section_id>/edit/", scorecards.section_edit, name="section_edit"),
    path(
        "scorecards/<int:pk>/sections/<int:section_id>/remove/",
        scorecards.section_remove,
        name="section_remove",
    ),
    path(
        "scorecards/<int:pk>/sections/<int:section_id>/criteria/add/",
        scorecards.criterion_add,
        name="criterion_add",
    ),
    path(
        "scorecards/<int:pk>/criteria/<int:criterion_id>/edit/",
        scorecards.criterion_edit,
        name="criterion_edit",
    ),
    path(
        "scorecards/<int:pk>/criteria/<int:criterion_id>/disagreements/",
        scorecards.criterion_disagreements,
        name="criterion_disagreements",
    ),
    path(
        "scorecards/<int:pk>/criteria/<int:criterion_id>/remove/",
        scorecards.criterion_remove,
        name="criterion_remove",
    ),
]
