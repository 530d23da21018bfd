from rest_framework import serializers

from skips.serializers import TicketURLField, TimestampField
from tests.testapp.models import Case


class CaseSerializer(serializers.ModelSerializer):
    """The host's own ticket serializer, with a joined and a prefetched relation."""

    select_related = ("owner",)
    prefetch_related = ("labels",)

    url = TicketURLField()
    opened_at = TimestampField()
    owner_email = serializers.SerializerMethodField()
    labels = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Case
        fields = ("id", "url", "title", "owner_id", "owner_email", "labels", "opened_at")

    def get_owner_email(self, case: Case) -> str | None:
        return case.owner.email if case.owner else None
