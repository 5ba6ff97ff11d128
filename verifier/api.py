"""The public verifier API: anyone may upload a video or send a Candor link; throttled per client by
CANDOR_VERIFY_RATE.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .report import VERDICTS, report_as_dict
from .services import upload_verify
from .throttling import VerifyRateThrottle, verification_slot


class VerifyOutput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=VERDICTS)
    explanation = serializers.ListField(child=serializers.CharField())
    content_match = serializers.BooleanField(allow_null=True)
    content = serializers.DictField(allow_null=True)
    c2pa = serializers.DictField()
    watermark = serializers.DictField()
    render = serializers.DictField(allow_null=True)
    seconds = serializers.FloatField()


class VerifyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [VerifyRateThrottle]

    class VerifyInput(serializers.Serializer):
        video = serializers.FileField(allow_empty_file=True, required=False)
        url = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(request=VerifyInput, responses=VerifyOutput)
    def post(self, request):
        serializer = self.VerifyInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        with verification_slot():
            report = upload_verify(
                upload=serializer.validated_data.get("video"), url=serializer.validated_data.get("url", "")
            )
        return Response(report_as_dict(report))
