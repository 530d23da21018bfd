from skips.serializers import TicketSerializer


class CaseColumns(TicketSerializer):
    """The default serializer's recipe: columns named, no field declared."""

    extra_fields = ("title", "owner", "is_archived", "opened_at")
