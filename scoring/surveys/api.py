"""Inbound survey responses from other survey tools: POST /api/surveys/responses.

Authenticated by a DRF token (a user with surveys.add_surveyresponse, or an admin) or by an
HMAC-SHA256 signature of the raw body (`X-QA-Signature: sha256=<hex>`, secret SURVEY_WEBHOOK_SECRET).
Idempotent: the sender's response_id (else the survey token, else the call) is the idempotency key, so
a redelivered webhook answers 200 with the same id and creates nothing; a new response answers 201.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import roles
from calls.models import Call
from qa_center.authentication import TOKEN_AUTHENTICATION

from . import services
from .forms import COMMENT_MAX_LENGTH
from .models import CES_MAX, CSAT_MAX, SurveyResponse
from .tokens import signature_is_valid, token_hash

SIGNATURE_HEADER = "X-QA-Signature"
SIGNATURE_AUTH = "hmac-signature"
# Responses dated further ahead than this are clock trouble or forgery, not real answers.
FUTURE_TOLERANCE = timedelta(minutes=5)


class SignatureAuthentication(BaseAuthentication):
    """Accept a request whose raw body carries a valid X-QA-Signature; refuse (401) a bad one."""

    def authenticate(self, request):
        header = request.headers.get(SIGNATURE_HEADER)
        if header is None:
            return None
        # request.body is the exact bytes that were signed (Django keeps it for DRF's parser to re-read).
        if not signature_is_valid(request._request.body, header, settings.SURVEY_WEBHOOK_SECRET):
            raise AuthenticationFailed("Invalid X-QA-Signature.")
        return AnonymousUser(), SIGNATURE_AUTH


class SignatureScheme(OpenApiAuthenticationExtension):
    target_class = SignatureAuthentication
    name = "hmacSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": "sha256=<hex HMAC-SHA256 of the raw body with SURVEY_WEBHOOK_SECRET>",
        }


class CanSubmitResponses(BasePermission):
    message = "You need the 'add survey response' permission."

    def has_permission(self, request, view) -> bool:
        if request.auth == SIGNATURE_AUTH:
            return True
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.has_perm("surveys.add_surveyresponse") or roles.is_admin(user))
        )


class InboundResponseSerializer(serializers.Serializer):
    call_external_id = serializers.CharField(required=False, max_length=100)
    token = serializers.CharField(required=False, max_length=128)
    score = serializers.IntegerField(min_value=0, max_value=10)
    csat = serializers.IntegerField(
        min_value=1,
        max_value=CSAT_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional satisfaction answer, 1–5 (4–5 count as satisfied).",
    )
    ces = serializers.IntegerField(
        min_value=1,
        max_value=CES_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional Customer Effort Score, 1–7 (7 = strongly agree it was easy).",
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )
    responded_at = serializers.DateTimeField(required=False)
    response_id = serializers.CharField(required=False, max_length=150)

    def validate_responded_at(self, value):
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("responded_at is in the future.")
        return value

    def validate(self, attrs):
        has_call, has_token = bool(attrs.get("call_external_id")), bool(attrs.get("token"))
        if has_call == has_token:
            raise serializers.ValidationError(
                {"call_external_id": "Give exactly one of call_external_id or token."}
            )
        if has_call:
            call = (
                Call.objects.select_related("customer").filter(external_id=attrs["call_external_id"]).first()
            )
            if call is None:
                raise serializers.ValidationError({"call_external_id": "No call with this external id."})
            attrs["call"] = call
        return attrs


class SurveyResponseOutSerializer(serializers.ModelSerializer):
    call_external_id = serializers.CharField(source="call.external_id")

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "call_external_id",
            "score",
            "category",
            "csat",
            "ces",
            "comment",
            "source",
            "received_at",
            "created_at",
        ]


class InboundResponseView(APIView):
    # No session auth: this endpoint is for machines, and token/signature auth need no CSRF token.
    authentication_classes = [*TOKEN_AUTHENTICATION, SignatureAuthentication]
    permission_classes = [CanSubmitResponses]

    @extend_schema(
        request=InboundResponseSerializer,
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="sha256=<hex HMAC-SHA256 of the raw body with SURVEY_WEBHOOK_SECRET>",
            )
        ],
        responses={
            201: SurveyResponseOutSerializer,
            200: OpenApiResponse(
                SurveyResponseOutSerializer, description="Redelivery: the existing response"
            ),
            400: OpenApiResponse(description="Validation error naming the field"),
            409: OpenApiResponse(
                inline_serializer(
                    "SurveyResponseConflict",
                    {
                        "detail": serializers.CharField(),
                        "existing_id": serializers.IntegerField(
                            required=False, help_text="The call's recorded response (absent for a used link)"
                        ),
                    },
                ),
                description="The call or link already has a different answer",
            ),
        },
        summary="Record a survey response from another survey tool",
    )
    def post(self, request):
        serializer = InboundResponseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        response_id = data.get("response_id")
        try:
            if data.get("token"):
                key = f"id:{response_id}" if response_id else f"token:{token_hash(data['token'])}"
                response, created = services.response_submit_by_token(
                    raw_token=data["token"],
                    score=data["score"],
                    comment=data["comment"],
                    csat=data["csat"],
                    ces=data["ces"],
                    source=SurveyResponse.Source.INBOUND_API,
                    idempotency_key=key,
                    received_at=data.get("responded_at"),
                )
            else:
                call = data["call"]
                key = f"id:{response_id}" if response_id else f"call:{call.external_id}"
                response, created = services.response_record(
                    call=call,
                    score=data["score"],
                    comment=data["comment"],
                    csat=data["csat"],
                    ces=data["ces"],
                    source=SurveyResponse.Source.INBOUND_API,
                    idempotency_key=key,
                    received_at=data.get("responded_at"),
                )
        except services.LinkUnusable as exc:
            if exc.reason == "used":
                return Response(
                    {"detail": "This survey link was already answered."}, status=status.HTTP_409_CONFLICT
                )
            message = "Unknown survey token." if exc.reason == "unknown" else "This survey link has expired."
            return Response({"token": [message]}, status=status.HTTP_400_BAD_REQUEST)
        except services.ResponseConflict as exc:
            return Response(
                {
                    "detail": "This call already has a different survey response.",
                    "existing_id": exc.existing.pk,
                },
                status=status.HTTP_409_CONFLICT,
            )
        if not created and (response.score, response.comment, response.csat, response.ces) != (
            data["score"],
            data["comment"].strip(),
            data["csat"],
            data["ces"],
        ):
            # The idempotency key (response_id, else the token, else the call) matched an earlier answer, but
            # this one says something else: a different answer, not a redelivery, so it is not recorded.
            return Response(
                {
                    "detail": "This call already has a different survey response.",
                    "existing_id": response.pk,
                },
                status=status.HTTP_409_CONFLICT,
            )
        response = SurveyResponse.objects.select_related("call").get(pk=response.pk)
        return Response(
            SurveyResponseOutSerializer(response).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
