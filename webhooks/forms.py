"""Portal forms of the webhooks page. They validate input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import ServiceForm
from webhooks import catalogue


class EndpointForm(ServiceForm):
    url = forms.URLField(
        label=_("Endpoint URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_("https:// and reachable from the internet."),
    )
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    all_events = forms.BooleanField(label=_("Every event"), required=False, initial=True)
    enabled_events = forms.MultipleChoiceField(
        label=_("Or only these events"),
        choices=[(name, name) for name in catalogue.EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def events(self) -> list[str]:
        chosen = self.cleaned_data.get("enabled_events") or []
        return ["*"] if self.cleaned_data.get("all_events") or not chosen else chosen


class ReplayForm(ServiceForm):
    since = forms.DateTimeField(
        label=_("Failed deliveries of events since"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
