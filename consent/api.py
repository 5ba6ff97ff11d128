"""API for the person pictured: the token in their link is the capability; no account needed."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .models import PURPOSES
from .services import consent_challenge_issue, consent_decide, consent_for_token, consent_revoke


class _SubjectApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "consent_subject"


class ConsentStatusOutput(serializers.Serializer):
    status = serializers.CharField()


class ChallengeOutput(serializers.Serializer):
    id = serializers.CharField()
    instructions = serializers.CharField()
    turns = serializers.ListField(child=serializers.CharField())
    digits = serializers.CharField()


class ConsentRequestViewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    requester = serializers.CharField()
    portrait = serializers.DictField()
    requested_scope = serializers.DictField()
    link_expires_at = serializers.DateTimeField()
    challenge = ChallengeOutput()


class ConsentSubjectApi(_SubjectApi):
    class ConsentDecisionInput(serializers.Serializer):
        capture = serializers.FileField(required=False, allow_empty_file=True)
        challenge_id = serializers.CharField(max_length=64)
        full_name = serializers.CharField(max_length=200)
        decision = serializers.ChoiceField(choices=["approve", "decline"])
        purposes = serializers.ListField(child=serializers.ChoiceField(choices=PURPOSES), required=False)
        languages = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
        expires_at = serializers.DateTimeField(required=False)

    @extend_schema(responses=ConsentRequestViewOutput)
    def get(self, request, token):
        consent = consent_for_token(token=token)
        challenge = consent_challenge_issue(consent=consent)
        return Response(
            {
                "id": str(consent.id),
                "status": consent.status,
                "requester": consent.requested_by.username,
                "portrait": {"id": str(consent.portrait_id), "subject_name": consent.portrait.subject_name},
                "requested_scope": {
                    "purposes": consent.requested_purposes,
                    "languages": consent.requested_languages,
                    "expires_at": consent.requested_expires_at,
                    "max_renders": consent.requested_max_renders,
                },
                "link_expires_at": consent.link_expires_at,
                "challenge": challenge,
            }
        )

    @extend_schema(request=ConsentDecisionInput, responses=ConsentStatusOutput)
    def post(self, request, token):
        consent = consent_for_token(token=token)
        serializer = self.ConsentDecisionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        capture = data.get("capture")
        consent = consent_decide(
            consent=consent,
            decision=data["decision"],
            challenge_id=data["challenge_id"],
            full_name=data["full_name"],
            capture=capture.read() if capture is not None else None,
            purposes=data.get("purposes"),
            languages=data.get("languages"),
            expires_at=data.get("expires_at"),
        )
        return Response({"status": consent.status})


class ConsentRevokeApi(_SubjectApi):
    @extend_schema(request=None, responses=ConsentStatusOutput)
    def post(self, request, revoke_token):
        consent = consent_revoke(revoke_token=revoke_token)
        return Response({"status": consent.status})
