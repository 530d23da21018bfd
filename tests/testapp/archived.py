from django.db.models import Exists, OuterRef, Q


def vip_cases() -> Q:
    """A host's rule: cases labelled "vip" count as archived."""
    return Q(labels__name="vip")


def closed_or_frozen_cases() -> Q:
    """A host's rule holding an expression: archived cases, and those labelled "frozen"."""
    from tests.testapp.models import Label

    frozen = Label.objects.filter(case=OuterRef("pk"), name="frozen")
    return Q(is_archived=True) | Q(Exists(frozen))
