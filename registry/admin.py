"""Django admin for every registry object. Published objects are read-only: corrections are new versions."""

from django.contrib import admin

from . import models


class ReadOnlyAdmin(admin.ModelAdmin):
    """Published records are immutable; the admin shows them and changes nothing."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "owner", "license", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description", "source"]
    readonly_fields = ["uuid", "name", "kind", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # datasets are created by registering a version (CLI or API)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "digest", "record_count", "role", "created_at"]
    list_filter = ["role", "dataset__kind"]
    search_fields = ["dataset__name", "version", "digest"]


@admin.register(models.Record)
class RecordAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "version", "position"]
    search_fields = ["identifier"]
    list_select_related = ["version__dataset"]
    raw_id_fields = ["version", "sequence"]


@admin.register(models.Sequence)
class SequenceAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "length"]
    search_fields = ["sha256"]


@admin.register(models.Derivation)
class DerivationAdmin(ReadOnlyAdmin):
    list_display = ["source", "target", "transform", "created_at"]


class SplitPartInline(admin.TabularInline):
    model = models.SplitPart
    fields = ["name", "role", "record_count"]
    readonly_fields = fields
    can_delete = False
    extra = 0


@admin.register(models.Split)
class SplitAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "created_at"]
    inlines = [SplitPartInline]


@admin.register(models.SplitPart)
class SplitPartAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "role", "record_count"]


@admin.register(models.RecordSet)
class RecordSetAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "uuid", "created_at"]


@admin.register(models.MLModel)
class MLModelAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["uuid", "name", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "base", "code_url", "created_at"]
    search_fields = ["model__name", "version"]


@admin.register(models.Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["uuid", "model_version", "record_set", "metrics", "created_at"]


@admin.register(models.Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["uuid", "kind", "state", "progress", "created_at", "finished_at"]
    list_filter = ["kind", "state"]
