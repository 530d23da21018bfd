from django.db.models import Q


def vip_cases() -> Q:
    """A host's rule: cases labelled "vip" count as archived."""
    return Q(labels__name="vip")
