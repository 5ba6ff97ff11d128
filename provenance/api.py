"""The public verifier API: anyone may upload a video; throttled per client by CANDOR_VERIFY_RATE."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .services import report_as_dict, upload_verify
from .throttling import VerifyRateThrottle


class VerifyOutput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["candor_generated", "not_recognized"])
    c2pa = serializers.DictField()
    watermark = serializers.DictField()
    render = serializers.DictField(allow_null=True)


class VerifyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [VerifyRateThrottle]

    class VerifyInput(serializers.Serializer):
        video = serializers.FileField(allow_empty_file=True)

    @extend_schema(request=VerifyInput, responses=VerifyOutput)
    def post(self, request):
        serializer = self.VerifyInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = upload_verify(upload=serializer.validated_data["video"])
        return Response(report_as_dict(report))
