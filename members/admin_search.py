"""Admin search that finds a member by card or phone number however staff type it."""

from .selectors import member_identifier_filter


class MemberIdentifierSearchMixin:
    """Finds a member's card or phone number typed with spaces, dashes or `+86`, normalised as the
    API does. `member_path` leads from the listed model to the member.

    With `identifier_only` (the member list) a term that is a card or phone number is matched
    exactly and only through the unique indexes, so the search stays an index lookup. Elsewhere
    the exact match is added to the list's own search, since a receipt id may look like a phone
    number."""

    member_path = "member__"
    identifier_only = False

    def get_search_results(self, request, queryset, search_term):
        exact = member_identifier_filter(search_term, via=self.member_path)
        if exact is not None and self.identifier_only:
            return queryset.filter(exact), False
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if exact is not None:
            found = found | queryset.filter(exact)
        return found, may_have_duplicates
