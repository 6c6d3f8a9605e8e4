"""The admin theme's own words, translated in our catalogs.

django-unfold ships no Chinese catalog, so its buttons and hints ("Run", "Filters", "Type to
search") stayed English in a zh-hans back office. Django looks words up in our catalogs
(LOCALE_PATHS) first, whatever app asks; listing them here keeps them in the catalogs that
`makemessages` writes. Nothing imports this module."""

from django.utils.translation import gettext_noop

THEME_STRINGS = [
    gettext_noop("Add row"),
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),  # noqa: RUF001 - as the theme writes it
    gettext_noop("All applications"),
    gettext_noop("Apply Filters"),
    gettext_noop("Cancel"),
    gettext_noop("Click to cancel"),
    gettext_noop("Click to download"),
    gettext_noop("Dark"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    gettext_noop("Expand row"),
    gettext_noop("False"),
    gettext_noop("Filters"),
    gettext_noop("General"),
    gettext_noop("Go back"),
    gettext_noop("Light"),
    gettext_noop("Loading more results..."),
    gettext_noop("More actions"),
    gettext_noop("Next"),
    gettext_noop("No data"),
    gettext_noop("No recent searches"),
    gettext_noop("No results found"),
    gettext_noop("No results matching your query"),
    gettext_noop("Previous"),
    gettext_noop("Recent searches"),
    gettext_noop("Record picture"),
    gettext_noop("Reset filters"),
    gettext_noop("Run"),
    gettext_noop("Select action"),
    gettext_noop("Select action to run"),
    gettext_noop("Select all rows"),
    gettext_noop("Select currency"),
    gettext_noop("Select record"),
    gettext_noop("Submit"),
    gettext_noop("This item will be deleted."),
    gettext_noop("This page yielded into no results. Create a new item or reset your filters."),
    gettext_noop("Toggle password visibility"),
    gettext_noop("True"),
    gettext_noop("Type to search"),
    gettext_noop("Value"),
    gettext_noop("You have been successfully logged out from the administration"),
]
