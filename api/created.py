"""What a registration answers: the registered object, whether it was written now, and its warnings.

The warnings are the registry's own (``registry.services.warnings``): the sentences the command line
prints, each with a stable code. They belong to the answer of the request that registered the object
(a later GET does not repeat them).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from registry.services.warnings import Notice

from . import schema_components as components
from .serializers import EvaluationSerializer, ModelVersionSerializer, SplitSerializer


class _Registered(serializers.Serializer):
    """Adds ``created`` and ``warnings`` (from the serializer context) to an object's representation."""

    created = serializers.SerializerMethodField(
        help_text="True: registered by this request (201). False: identical content was already registered "
        "(200): this is the existing object, and nothing was written."
    )
    warnings = serializers.SerializerMethodField(
        help_text="What the registration accepted but a reader of its results must know; empty when all is well."
    )

    def to_representation(self, instance):
        # The object's row (``BuiltRows``), then these two, in the order ``Meta.fields`` lists them.
        data = super().to_representation(instance)
        data["created"] = self.get_created(instance)
        data["warnings"] = self.get_warnings(instance)
        return data

    def get_created(self, obj) -> bool:
        return bool(self.context.get("created", True))

    @extend_schema_field(components.RegistrationWarningSerializer(many=True))
    def get_warnings(self, obj) -> list:
        return [notice.to_dict() for notice in self.context.get("notices", ())]


class ModelVersionCreatedSerializer(_Registered, ModelVersionSerializer):
    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "created", "warnings"]
        read_only_fields = fields


class SplitCreatedSerializer(_Registered, SplitSerializer):
    class Meta(SplitSerializer.Meta):
        fields = [*SplitSerializer.Meta.fields, "created", "warnings"]
        read_only_fields = fields


class EvaluationCreatedSerializer(_Registered, EvaluationSerializer):
    class Meta(EvaluationSerializer.Meta):
        fields = [*EvaluationSerializer.Meta.fields, "created", "warnings"]
        read_only_fields = fields


def registered_answer(
    serializer_class, instance, *, context: dict, notices: list[Notice], created: bool = True
) -> Response:
    """201 (or 200 for an identical re-registration) with the object, ``created``, ``warnings``, Location."""
    body = serializer_class(instance, context={**context, "notices": notices, "created": created}).data
    return Response(body, status=201 if created else 200, headers={"Location": body["url"]})
